"""Login throttling: at most N password checks per user name in a sliding window.

Each attempt is a row in ``login_attempts``, written *before* the password is
checked and committed at once, so every worker process and host sees it: the
k-th attempt to commit counts at least k rows, and no burst of concurrent
guesses gets more than N checks. A wrong password leaves its row behind; a
right one deletes every row of the name (the counter starts again); a refused
attempt deletes its own row, so hammering does not lengthen the wait.

Unknown names are counted exactly like known ones, and a refused attempt
checks no password at all, so neither the answer nor its timing tells whether
a name exists. Rows keep a SHA-256 of the name typed, and rows older than the
window are deleted as new attempts arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.access.keys import hash_token
from features.access.tables import login_attempts_table
from features.access.users import User, check_password

_attempts = login_attempts_table.c
#: The shortest wait a refused attempt is told to keep.
_MIN_WAIT = timedelta(seconds=1)


@dataclass(frozen=True)
class LoginLimit:
    """How many failed logins one name may have within ``window``."""

    max_failures: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError(f"max_failures={self.max_failures}: expected 1 or more")
        if self.window <= timedelta(0):
            raise ValueError(f"window={self.window}: expected a positive duration")


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to.

    ``user`` is set when the password was right; ``retry_after`` is set when
    the attempt was refused without checking the password (too many recent
    failures for the name) and says how long to wait.
    """

    user: User | None
    retry_after: timedelta | None = None


def attempt_login(
    engine: Engine,
    *,
    name: str,
    password: str,
    limit: LoginLimit,
    now: datetime,
) -> LoginOutcome:
    """Check ``password`` for ``name`` unless the name has too many failures.

    ``now`` is the wall-clock instant of the attempt (aware); it is what the
    window is measured against.
    """
    key = hash_token(name)
    attempt_id, wait = _claim(engine, key=key, limit=limit, now=now)
    if attempt_id is None:
        return LoginOutcome(user=None, retry_after=wait)

    user = check_password(engine, name=name, password=password)
    if user is not None:
        clear_failures(engine, name=name)
    return LoginOutcome(user=user)


def clear_failures(engine: Engine, *, name: str) -> None:
    """Forget every counted attempt of ``name`` (a successful login does it)."""
    with engine.begin() as conn:
        conn.execute(
            login_attempts_table.delete().where(
                _attempts.name_sha256 == hash_token(name)
            )
        )


def _claim(
    engine: Engine, *, key: str, limit: LoginLimit, now: datetime
) -> tuple[int | None, timedelta | None]:
    """Record an attempt; return its row id, or ``None`` and the wait if refused."""
    since = now - limit.window

    # Commit the attempt first: any attempt that commits later counts it.
    with engine.begin() as conn:
        conn.execute(
            login_attempts_table.delete().where(_attempts.attempted_at <= since)
        )
        attempt_id = conn.execute(
            login_attempts_table.insert()
            .values(name_sha256=key, attempted_at=now)
            .returning(_attempts.id)
        ).scalar_one()

    # Then count the name's other attempts in the window, newer ones included.
    with engine.begin() as conn:
        times = (
            conn.execute(
                sa.select(_attempts.attempted_at)
                .where(
                    _attempts.name_sha256 == key,
                    _attempts.attempted_at > since,
                    _attempts.id != attempt_id,
                )
                .order_by(_attempts.attempted_at.desc())
                .limit(limit.max_failures)
            )
            .scalars()
            .all()
        )
        if len(times) < limit.max_failures:
            return attempt_id, None
        conn.execute(login_attempts_table.delete().where(_attempts.id == attempt_id))

    # Free again once fewer than N others remain: when the N-th newest ages out.
    freed_at = times[limit.max_failures - 1] + limit.window
    return None, max(freed_at - now, _MIN_WAIT)
