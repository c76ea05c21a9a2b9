"""API keys: create, list, revoke and look up, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.access.scopes import check_scopes
from features.access.tables import api_keys_table

#: Every key starts with this, so a leaked one is easy to recognise and grep for.
KEY_PREFIX = "sw_"
_SHOWN_CHARS = 4


@dataclass(frozen=True)
class ApiKey:
    """One stored key, without its secret."""

    id: int
    name: str
    scopes: frozenset[str]
    last_chars: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def display(self) -> str:
        """Return how the key is shown: its prefix and last characters."""
        return f"{KEY_PREFIX}…{self.last_chars}"


class KeyNotFoundError(LookupError):
    """No key has the id asked for."""


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a random token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _row_key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=int(m["id"]),
        name=str(m["name"]),
        scopes=frozenset(str(m["scopes"]).split()),
        last_chars=str(m["last_chars"]),
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


def create_key(
    engine: Engine, *, name: str, scopes: list[str], now: datetime | None = None
) -> tuple[ApiKey, str]:
    """Store a new key for ``name`` with ``scopes``; return it and its secret.

    The secret is returned once and never stored: only its hash is.
    """
    held = check_scopes(scopes)
    name = name.strip()
    if not name or len(name) > 120 or not name.isprintable():
        # Control characters (a newline) would break the one-line listing.
        raise ValueError(f"key name {name!r}: expected 1 to 120 printable characters")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    created_at = now or datetime.now(UTC)
    last_chars = token[-_SHOWN_CHARS:]
    with engine.begin() as conn:
        key_id = conn.execute(
            api_keys_table.insert()
            .values(
                name=name,
                token_sha256=hash_token(token),
                last_chars=last_chars,
                scopes=" ".join(sorted(held)),
                created_at=created_at,
                revoked_at=None,
            )
            .returning(api_keys_table.c.id)
        ).scalar_one()
    key = ApiKey(
        id=key_id,
        name=name,
        scopes=held,
        last_chars=last_chars,
        created_at=created_at,
        revoked_at=None,
    )
    return key, token


def list_keys(engine: Engine) -> list[ApiKey]:
    """Return every key, revoked ones included, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(api_keys_table.select().order_by(api_keys_table.c.id))
        return [_row_key(r) for r in rows]


def revoke_key(engine: Engine, key_id: int, *, now: datetime | None = None) -> ApiKey:
    """Mark key ``key_id`` revoked (once; a second call keeps the first instant)."""
    table = api_keys_table
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == key_id, table.c.revoked_at.is_(None))
            .values(revoked_at=now or datetime.now(UTC))
        )
        row = conn.execute(table.select().where(table.c.id == key_id)).first()
    if row is None:
        raise KeyNotFoundError(
            f"no API key has id {key_id}; see `stallwatch keys list`"
        )
    return _row_key(row)


def find_key(engine: Engine, token: str) -> ApiKey | None:
    """Return the stored key whose secret is ``token``, revoked or not."""
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    table = api_keys_table
    with engine.connect() as conn:
        row = conn.execute(
            table.select().where(table.c.token_sha256 == hash_token(token))
        ).first()
    return None if row is None else _row_key(row)
