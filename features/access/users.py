"""Manager logins: argon2id password hashes and server-side sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from features.access.keys import hash_token
from features.access.scopes import USER_ROLES
from features.access.tables import sessions_table, users_table

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Checked against when the name is unknown, so a wrong name costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    """One login, without its password."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class SessionUser:
    """The user a live session belongs to, and when the session ends."""

    user: User
    expires_at: datetime


class UserError(ValueError):
    """A user cannot be added or removed as asked."""


def _check(name: str, password: str, role: str) -> None:
    if not name or len(name) > 120 or any(c.isspace() for c in name):
        raise UserError(f"user name {name!r}: expected 1 to 120 characters, no spaces")
    if role not in USER_ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(USER_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"password too short: expected at least {MIN_PASSWORD_LENGTH} characters"
        )


def add_user(
    engine: Engine,
    *,
    name: str,
    password: str,
    role: str,
    now: datetime | None = None,
) -> User:
    """Store a login ``name`` with an argon2id hash of ``password``."""
    _check(name, password, role)
    with engine.begin() as conn:
        taken = conn.execute(
            sa.select(users_table.c.id).where(users_table.c.name == name)
        ).first()
        if taken is not None:
            raise UserError(f"user {name!r} already exists")
        user_id = conn.execute(
            users_table.insert()
            .values(
                name=name,
                password_hash=_hasher.hash(password),
                role=role,
                created_at=now or datetime.now(UTC),
            )
            .returning(users_table.c.id)
        ).scalar_one()
    return User(id=user_id, name=name, role=role)


def remove_user(engine: Engine, name: str) -> None:
    """Delete login ``name`` and end every session it holds."""
    with engine.begin() as conn:
        user_id = conn.execute(
            sa.select(users_table.c.id).where(users_table.c.name == name)
        ).scalar()
        if user_id is None:
            raise UserError(f"no user named {name!r}")
        conn.execute(sessions_table.delete().where(sessions_table.c.user_id == user_id))
        conn.execute(users_table.delete().where(users_table.c.id == user_id))


def list_users(engine: Engine) -> list[User]:
    """Return every login, by name."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                users_table.c.id, users_table.c.name, users_table.c.role
            ).order_by(users_table.c.name)
        )
        return [User(id=r.id, name=r.name, role=r.role) for r in rows]


def check_password(engine: Engine, *, name: str, password: str) -> User | None:
    """Return the user if ``password`` is theirs, else ``None``."""
    with engine.connect() as conn:
        row = conn.execute(
            users_table.select().where(users_table.c.name == name)
        ).first()
    stored = _DUMMY_HASH if row is None else row.password_hash
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    return User(id=row.id, name=row.name, role=row.role)


def start_session(
    engine: Engine, user: User, *, lifetime: timedelta, now: datetime | None = None
) -> str:
    """Open a session for ``user``; return its token (stored only hashed)."""
    start = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(sessions_table.delete().where(sessions_table.c.expires_at < start))
        conn.execute(
            sessions_table.insert().values(
                token_sha256=hash_token(token),
                user_id=user.id,
                created_at=start,
                expires_at=start + lifetime,
            )
        )
    return token


def end_session(engine: Engine, token: str) -> None:
    """Close the session ``token`` (nothing happens if it is unknown)."""
    with engine.begin() as conn:
        conn.execute(
            sessions_table.delete().where(
                sessions_table.c.token_sha256 == hash_token(token)
            )
        )


def find_session(engine: Engine, token: str, *, now: datetime) -> SessionUser | None:
    """Return the user of the live session ``token``, or ``None``."""
    if len(token) > 200:
        return None
    query = (
        sa.select(
            users_table.c.id,
            users_table.c.name,
            users_table.c.role,
            sessions_table.c.expires_at,
        )
        .join(users_table, users_table.c.id == sessions_table.c.user_id)
        .where(sessions_table.c.token_sha256 == hash_token(token))
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.expires_at <= now:
        return None
    return SessionUser(User(id=row.id, name=row.name, role=row.role), row.expires_at)
