"""The manager's login: the form, the session cookie, CSRF and the redirect target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine, write_events
from stallwatch.settings import Settings
from tests.conftest import EventMaker, frame
from tests.credentials import add_login, form_token, log_in

PASSWORD = "correct horse battery"
NOW = "2016-03-16T09:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path: Path, event: EventMaker
) -> Iterator[TestClient]:
    """The service on a store with one open ticket and a manager's login."""
    from api.app import create_app

    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    create_schema(engine)
    created = event(
        "T-1", "2016-03-15T09:00:00+00:00", "created", priority="high", channel="email"
    )
    write_events(engine, frame([created]))
    engine.dispose()
    add_login(url, "mia", PASSWORD, "manager")
    settings = Settings(
        database_url=url,
        model_dir=tmp_path / "no-model",
        alert_rules=None,
        session_secret_file=tmp_path / "session-secret",
        access_cache_seconds=0,
        now=NOW,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _login_form(client: TestClient, next_path: str = "/") -> str:
    form = client.get("/login", params={"next": next_path})
    assert form.status_code == 200
    return form_token(form.text)


def _post_login(
    client: TestClient, *, password: str, csrf: str | None, next_path: str = "/"
) -> object:
    data = {"name": "mia", "password": password, "next": next_path}
    if csrf is not None:
        data["csrf"] = csrf
    return client.post("/login", data=data, follow_redirects=False)


def test_a_page_without_a_session_sends_to_the_login_form(served: TestClient) -> None:
    answer = served.get("/reports?at=2016-03-16T09:00:00Z", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + quote(
        "/reports?at=2016-03-16T09:00:00Z", safe=""
    )


def test_login_without_the_form_token_is_refused(served: TestClient) -> None:
    _login_form(served)
    answer = _post_login(served, password=PASSWORD, csrf=None)
    assert answer.status_code == 403  # type: ignore[attr-defined]
    assert "stallwatch_session" not in served.cookies
    forged = _post_login(served, password=PASSWORD, csrf="0" * 64)
    assert forged.status_code == 403  # type: ignore[attr-defined]


def test_login_with_a_wrong_password_is_refused(served: TestClient) -> None:
    csrf = _login_form(served)
    answer = _post_login(served, password="wrong password!", csrf=csrf)
    assert answer.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong name or password" in answer.text  # type: ignore[attr-defined]
    assert "stallwatch_session" not in served.cookies
    assert served.get("/", follow_redirects=False).status_code == 303


def test_login_opens_a_session_with_a_safe_cookie(served: TestClient) -> None:
    csrf = _login_form(served, "/reports")
    answer = _post_login(served, password=PASSWORD, csrf=csrf, next_path="/reports")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/reports"  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"].lower()  # type: ignore[attr-defined]
    assert "stallwatch_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = served.get("/reports")
    assert page.status_code == 200 and "mia" in page.text


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/\t/x"],
)
def test_login_never_sends_to_another_site(served: TestClient, target: str) -> None:
    csrf = _login_form(served, target)
    answer = _post_login(served, password=PASSWORD, csrf=csrf, next_path=target)
    assert answer.headers["location"] == "/"  # type: ignore[attr-defined]


def test_session_fetches_need_the_csrf_header_to_change_state(
    served: TestClient,
) -> None:
    token = log_in(served, "mia", PASSWORD)
    listed = served.get("/v1/stall-list")
    assert listed.status_code == 200
    assert [r["ticket_id"] for r in listed.json()["rows"]] == ["T-1"]

    body = {"action": "acknowledge", "by": "mia"}
    refused = served.post("/v1/tickets/T-1/feedback", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    wrong = served.post(
        "/v1/tickets/T-1/feedback", json=body, headers={"x-csrf-token": "0" * 64}
    )
    assert wrong.status_code == 403
    done = served.post(
        "/v1/tickets/T-1/feedback", json=body, headers={"x-csrf-token": token}
    )
    assert done.status_code == 201, done.text
    assert done.json()["by"] == "user:mia"  # the session's login, not the body

    # a manager's session holds the manager's scopes, no more
    assert served.get("/metrics").status_code == 403


def test_logout_needs_its_token_and_ends_the_session(served: TestClient) -> None:
    token = log_in(served, "mia", PASSWORD)
    kept = served.cookies["stallwatch_session"]
    refused = served.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert served.get("/", follow_redirects=False).status_code == 200

    out = served.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # the old cookie, replayed, no longer opens anything
    served.cookies.set("stallwatch_session", kept)
    assert served.get("/", follow_redirects=False).status_code == 303
    assert served.get("/v1/stall-list").status_code == 401
