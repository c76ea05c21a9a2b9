"""The access store: secrets kept only as hashes, revocation, the cache's bound."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from features.access.keys import KeyNotFoundError, create_key, list_keys, revoke_key
from features.access.users import (
    UserError,
    add_user,
    check_password,
    remove_user,
    start_session,
)
from features.access.verify import AccessGate
from features.store import create_schema, make_engine

PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> sa.Engine:
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    made = make_engine(url)
    create_schema(made)
    return made


def _every_cell(engine: sa.Engine) -> list[str]:
    """Every value of every table, as text."""
    cells = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                cells.extend(str(v) for v in row)
    return cells


def test_no_secret_is_stored_in_the_clear(engine: sa.Engine, tmp_path: Path) -> None:
    _, token = create_key(engine, name="crm", scopes=["events:write", "scores:read"])
    user = add_user(engine, name="mia", password=PASSWORD, role="manager")
    session = start_session(engine, user, lifetime=timedelta(hours=1))

    cells = _every_cell(engine)
    for secret in (token, PASSWORD, session):
        assert not any(secret in cell for cell in cells)
    # what is stored instead: the SHA-256 of each token, an argon2id hash
    assert hashlib.sha256(token.encode()).hexdigest() in cells
    assert hashlib.sha256(session.encode()).hexdigest() in cells
    assert any(cell.startswith("$argon2id$") for cell in cells)
    if engine.dialect.name == "sqlite":
        raw = Path(engine.url.database or "").read_bytes()
        for secret in (token, PASSWORD, session):
            assert secret.encode() not in raw


def test_keys_are_listed_without_secrets_and_revoked_once(engine: sa.Engine) -> None:
    first, token = create_key(engine, name="crm", scopes=["events:write"])
    second, _ = create_key(engine, name="ops", scopes=["metrics:read"])
    assert token.startswith("sw_") and len(token) > 40
    assert first.last_chars == token[-4:]

    revoked = revoke_key(engine, first.id)
    again = revoke_key(engine, first.id)
    assert revoked.revoked_at is not None and again.revoked_at == revoked.revoked_at
    listed = {k.id: k for k in list_keys(engine)}
    assert listed[first.id].revoked_at is not None
    assert listed[second.id].revoked_at is None
    assert listed[second.id].scopes == frozenset({"metrics:read"})
    with pytest.raises(KeyNotFoundError, match="no API key has id 999"):
        revoke_key(engine, 999)


def test_bad_scopes_and_users_are_refused_by_name(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match=r"unknown scope.*lists:write"):
        create_key(engine, name="x", scopes=["lists:write"])
    for name in ("crm\nops", "a\x00b", "tab\there", "x" * 121, "   "):
        with pytest.raises(ValueError, match="expected 1 to 120 printable"):
            create_key(engine, name=name, scopes=["scores:read"])
    assert list_keys(engine) == []  # nothing was stored
    with pytest.raises(UserError, match="at least 10 characters"):
        add_user(engine, name="bo", password="short", role="manager")
    with pytest.raises(UserError, match="role 'crm'"):
        add_user(engine, name="bo", password=PASSWORD, role="crm")
    add_user(engine, name="bo", password=PASSWORD, role="admin")
    with pytest.raises(UserError, match="already exists"):
        add_user(engine, name="bo", password=PASSWORD, role="admin")
    assert check_password(engine, name="bo", password=PASSWORD) is not None
    assert check_password(engine, name="bo", password=PASSWORD + "x") is None
    assert check_password(engine, name="nobody", password=PASSWORD) is None


def test_revocation_shows_within_the_cache_bound(engine: sa.Engine) -> None:
    key, token = create_key(engine, name="crm", scopes=["scores:read"])
    user = add_user(engine, name="mia", password=PASSWORD, role="manager")
    session = start_session(engine, user, lifetime=timedelta(hours=1))
    cached = AccessGate(engine, secret=b"s" * 32, ttl_seconds=3600)
    fresh = AccessGate(engine, secret=b"s" * 32, ttl_seconds=0)
    assert cached.check_key(token) is not None
    assert cached.check_session(session) is not None
    assert fresh.check_session(session) is not None

    revoke_key(engine, key.id)
    remove_user(engine, "mia")
    # a worker that checked them within its cache time still trusts them ...
    assert cached.check_key(token) is not None
    assert cached.check_session(session) is not None
    # ... one whose cached answer is older than the bound asks the store again
    assert fresh.check_key(token) is None
    assert fresh.check_session(session) is None


def test_an_expired_session_is_refused(engine: sa.Engine) -> None:
    user = add_user(engine, name="mia", password=PASSWORD, role="manager")
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    session = start_session(
        engine, user, lifetime=timedelta(hours=1), now=two_hours_ago
    )
    gate = AccessGate(engine, secret=b"s" * 32, ttl_seconds=3600)
    assert gate.check_session(session) is None
