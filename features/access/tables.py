"""Tables of API keys, manager logins, their sessions and login attempts.

They live on the event store's :data:`features.store.metadata`; migration
``0004`` creates the first three, ``0006`` the login attempts. No secret is
stored in the clear: a key or a session token is kept as its SHA-256 (both are
random 256-bit tokens, so a fast hash is enough), a password as an argon2id
hash. A login attempt keeps the SHA-256 of the name typed, never the name.
"""

from __future__ import annotations

import sqlalchemy as sa

from features.store import UTCDateTime, metadata

api_keys_table = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("last_chars", sa.String(8), nullable=False),
    sa.Column("scopes", sa.String(400), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

users_table = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

sessions_table = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

login_attempts_table = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name_sha256", sa.String(64), nullable=False),
    sa.Column("attempted_at", UTCDateTime, nullable=False),
    sa.Index("ix_login_attempts_name_sha256", "name_sha256", "attempted_at"),
    sa.Index("ix_login_attempts_attempted_at", "attempted_at"),
)
