"""`stallwatch keys` and `stallwatch users`, and the demo's kept credentials."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.access.keys import find_key, revoke_key
from features.access.users import check_password
from features.store import create_schema, make_engine
from stallwatch.settings import get_settings

PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A store the command-line program reads from STALLWATCH_DATABASE_URL."""
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    monkeypatch.setenv("STALLWATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    from stallwatch.cli import app

    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_keys_create_list_revoke(store: str) -> None:
    code, out = _run("keys", "create", "acme-crm", "--role", "crm")
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    assert token.startswith("sw_")
    assert "scopes: events:write scores:read" in out
    key_id = int(re.search(r"key (\d+)", out).group(1))  # type: ignore[union-attr]

    code, out = _run(
        "keys", "create", "ops", "--scope", "metrics:read", "--scope", "lists:read"
    )
    assert code == 0 and "scopes: lists:read metrics:read" in out

    code, listed = _run("keys", "list")
    assert code == 0
    assert token not in listed
    line = next(x for x in listed.splitlines() if "acme-crm" in x)
    assert line.split()[0] == str(key_id) and token[-4:] in line
    assert line.count("UTC") == 1  # made, not revoked

    code, out = _run("keys", "revoke", str(key_id))
    assert code == 0 and "revoked" in out
    code, listed = _run("keys", "list")
    line = next(x for x in listed.splitlines() if "acme-crm" in x)
    assert line.count("UTC") == 2  # made and revoked
    found = find_key(make_engine(store), token)
    assert found is not None and found.revoked_at is not None


def test_keys_create_refuses_bad_input(store: str) -> None:
    code, out = _run("keys", "create", "x", "--role", "boss")
    assert code == 2 and "unknown role 'boss'" in out
    code, out = _run("keys", "create", "x", "--scope", "lists:write")
    assert code == 2 and "unknown scope(s) lists:write" in out
    code, out = _run("keys", "create", "x")
    assert code == 2 and "either --role or" in out
    code, out = _run("keys", "revoke", "4242")
    assert code == 2 and "no API key has id 4242" in out


def test_users_add_reads_the_password_from_stdin_and_remove(store: str) -> None:
    code, out = _run("users", "add", "mia", "--role", "manager", stdin=PASSWORD + "\n")
    assert code == 0, out
    assert PASSWORD not in out
    engine = make_engine(store)
    user = check_password(engine, name="mia", password=PASSWORD)
    assert user is not None and user.role == "manager"

    code, out = _run("users", "add", "mia", "--role", "manager", stdin=PASSWORD + "\n")
    assert code == 2 and "already exists" in out
    code, out = _run("users", "add", "bo", "--role", "crm", stdin=PASSWORD + "\n")
    assert code == 2 and "role 'crm'" in out

    code, out = _run("users", "remove", "mia")
    assert code == 0
    assert check_password(engine, name="mia", password=PASSWORD) is None
    code, out = _run("users", "remove", "mia")
    assert code == 2 and "no user named 'mia'" in out


def test_demo_credentials_are_made_once_and_kept_private(
    store: str, tmp_path: Path
) -> None:
    from stallwatch.access import demo_credentials

    path = tmp_path / "var" / "demo-credentials"
    engine = make_engine(store)
    create_schema(engine)
    first = demo_credentials(engine, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = demo_credentials(engine, path)
    assert again == first
    key = find_key(engine, first["api_key"])
    assert key is not None and key.scopes == frozenset({"admin"})
    assert (
        check_password(engine, name="manager", password=first["manager_password"])
        is not None
    )

    # a key the store no longer accepts is replaced; the login is kept
    revoke_key(engine, key.id)
    renewed = demo_credentials(engine, path)
    assert renewed["api_key"] != first["api_key"]
    assert renewed["manager_password"] == first["manager_password"]
