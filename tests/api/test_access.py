"""Every route refuses a missing, wrong or revoked credential and admits the right one.

The routes are read from the app itself, so a route added later is covered
without editing this file; one without an access rule fails the first test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.auth.policy import PUBLIC_MOUNTS, PUBLIC_PATHS, Rule, rule_for
from features.access.keys import create_key, revoke_key
from features.access.scopes import ADMIN, SCOPES
from features.store import create_schema, make_engine
from stallwatch.settings import Settings

#: Values for the path parameters of the routes.
PATH_VALUES = {"ticket_id": "INC0000045", "slug": "backlog", "name": "no-such-report"}


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        model_dir=tmp_path / "no-model",
        alert_rules=None,
        session_secret_file=tmp_path / "session-secret",
        # answer every check from the store, so a revocation shows at once
        access_cache_seconds=0,
    )


def _routes(app: FastAPI) -> list[tuple[str, str, Rule | None]]:
    """Every (method, path, rule) of the app, public ones with rule ``None``."""
    found = []
    for context in iter_route_contexts(app.routes):
        path = context.path
        methods = context.methods
        if methods is None:  # a mount: static files only
            assert path in PUBLIC_MOUNTS, f"mount {path} is not a known static mount"
            continue
        for method in sorted(methods - {"HEAD"}):
            rule = None if path in PUBLIC_PATHS else rule_for(method, path, context)
            found.append((method, path, rule))
    return found


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_route_has_an_access_rule(tmp_path: Path) -> None:
    from api.app import create_app

    app = create_app(_settings(f"sqlite:///{tmp_path / 's.db'}", tmp_path))
    routes = _routes(app)
    missing = [
        f"{m} {p}" for m, p, rule in routes if rule is None and p not in PUBLIC_PATHS
    ]
    assert missing == [], "routes without an access rule in api/auth/policy.py"
    # the open routes are exactly these, and every other one needs a credential
    open_routes = sorted(f"{m} {p}" for m, p, rule in routes if rule is None)
    assert open_routes == [
        "GET /healthz",
        "GET /login",
        "GET /readyz",
        "POST /login",
        "POST /logout",
    ]
    # a few rules worked out from the design, to see the walk reads them right
    rules = {(m, p): r for m, p, r in routes}
    assert rules["POST", "/v1/events"] == Rule("events:write")
    assert rules["POST", "/v1/risk-scores"] == Rule("scores:read")
    assert rules["GET", "/metrics"] == Rule("metrics:read")
    assert rules["POST", "/v1/tickets/{ticket_id:path}/feedback"] == Rule(
        "feedback:write"
    )
    assert rules["GET", "/"] == Rule("lists:read", page=True)
    assert rules["GET", "/openapi.json"] == Rule(None)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def served(store: str, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    """The service on an empty store."""
    from api.app import create_app

    settings = _settings(store, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _body(method: str, path: str) -> dict[str, Any] | None:
    if method != "POST":
        return None
    return {"tickets": [{"ticket_id": "INC0000045"}]} if "risk" in path else {}


def _call(
    client: TestClient, method: str, path: str, headers: dict[str, str] | None
) -> Any:
    return client.request(
        method,
        _url(path),
        headers=headers or {},
        json=_body(method, path),
        follow_redirects=False,
    )


def test_every_route_refuses_wrong_credentials_and_admits_the_right_one(
    served: tuple[TestClient, Settings],
) -> None:
    client, settings = served
    engine = make_engine(settings.database_url)
    create_schema(engine)

    def bearer(scopes: list[str], *, revoked: bool = False) -> dict[str, str]:
        key, token = create_key(engine, name="access-test", scopes=scopes)
        if revoked:
            revoke_key(engine, key.id)
        return {"authorization": f"Bearer {token}"}

    problems: list[str] = []
    routes = [(m, p, r) for m, p, r in _routes(client.app) if r is not None]  # type: ignore[arg-type]
    for method, path, rule in routes:
        assert rule is not None
        where = f"{method} {path}"
        needed = [rule.scope] if rule.scope else [ADMIN]

        # no credential: 401 with a Bearer challenge, or the login form for a page
        answer = _call(client, method, path, None)
        if rule.page:
            target = answer.headers.get("location", "")
            if answer.status_code != 303 or not target.startswith("/login?next=%2F"):
                problems.append(f"{where} without credentials: {answer.status_code}")
        elif (
            answer.status_code != 401
            or answer.headers.get("www-authenticate") != "Bearer"
            or answer.json()["code"] != "unauthorized"
        ):
            problems.append(f"{where} without credentials: {answer.status_code}")

        # a key holding every other scope but this one's: 403 naming the scope
        if rule.scope is not None:
            others = [s for s in SCOPES if s not in (rule.scope, ADMIN)]
            answer = _call(client, method, path, bearer(others))
            body = answer.json() if answer.status_code == 403 else {}
            if answer.status_code != 403 or rule.scope not in body.get("message", ""):
                problems.append(f"{where} with the wrong scope: {answer.status_code}")

        # the right scope on a revoked key: 401
        answer = _call(client, method, path, bearer(needed, revoked=True))
        if answer.status_code != 401:
            problems.append(f"{where} with a revoked key: {answer.status_code}")

        # the right scope, and admin: neither 401 nor 403 nor a server error
        # (503 is the risk scores' "no model loaded" on this empty store)
        for scopes in (needed, [ADMIN]):
            answer = _call(client, method, path, bearer(scopes))
            if answer.status_code in (401, 403, 500):
                problems.append(f"{where} with {scopes}: {answer.status_code}")
    engine.dispose()
    assert problems == []


def test_open_routes_answer_without_credentials(
    served: tuple[TestClient, Settings],
) -> None:
    client, _ = served
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    login = client.get("/login")
    assert login.status_code == 200 and 'name="password"' in login.text
    assert client.get("/static/app.css").status_code == 200


def test_a_malformed_authorization_header_is_refused(
    served: tuple[TestClient, Settings],
) -> None:
    client, _ = served
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "sw_no_scheme", "Bearer sw_unknown"):
        answer = client.get("/v1/escalations", headers={"authorization": header})
        assert answer.status_code == 401, header
        assert answer.headers["www-authenticate"] == "Bearer"
        assert set(answer.json()) == {"code", "message", "details"}
