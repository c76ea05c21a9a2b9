"""Login throttling in the store, on a clock the test sets: SQLite and PostgreSQL.

Every expected instant and wait below is worked out by hand from the limit of
5 failures in a sliding 15-minute window.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from features.access.tables import login_attempts_table
from features.access.throttle import LoginLimit, LoginOutcome, attempt_login
from features.access.users import add_user
from features.store import create_schema, make_engine

PASSWORD = "a long enough password"
LIMIT = LoginLimit(max_failures=5, window=timedelta(minutes=15))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    engine = make_engine(url)
    create_schema(engine)
    add_user(engine, name="mia", password=PASSWORD, role="manager")
    add_user(engine, name="ben", password=PASSWORD, role="manager")
    engine.dispose()
    return url


@pytest.fixture
def engine(store_url: str) -> sa.Engine:
    return make_engine(store_url)


def _try(engine: sa.Engine, name: str, password: str, minutes: float) -> LoginOutcome:
    return attempt_login(
        engine,
        name=name,
        password=password,
        limit=LIMIT,
        now=T0 + timedelta(minutes=minutes),
    )


def _rows(engine: sa.Engine) -> list[tuple[str, datetime]]:
    """The stored attempts, oldest first: the name's hash and the instant."""
    table = login_attempts_table
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.name_sha256, table.c.attempted_at).order_by(table.c.id)
        ).all()
    return [(str(r[0]), r[1]) for r in rows]


@pytest.mark.parametrize("name", ["mia", "nobody"])
def test_throttle_refuses_the_sixth_try_then_frees_the_name_after_the_window(
    engine: sa.Engine, name: str
) -> None:
    # five wrong passwords at 09:00 ... 09:04 are checked and refused
    for minute in range(5):
        assert _try(engine, name, "wrong guess", minute) == LoginOutcome(user=None)

    # at 09:05 even the right password is not checked: the oldest failure
    # (09:00) leaves the window at 09:15, so the wait is exactly ten minutes
    refused = _try(engine, name, PASSWORD, 5)
    assert refused == LoginOutcome(user=None, retry_after=timedelta(minutes=10))
    # a refused try is not counted, so hammering does not lengthen the wait
    assert _try(engine, name, PASSWORD, 14).retry_after == timedelta(minutes=1)
    assert len(_rows(engine)) == 5

    # at 09:15 the 09:00 failure is out; four remain and one more try is let in
    freed = _try(engine, name, PASSWORD, 15)
    assert freed.retry_after is None
    if name == "mia":
        assert freed.user is not None and freed.user.name == "mia"
        assert _rows(engine) == []  # a success clears the name's count
    else:
        # an unknown name can never succeed: its try counts as a fifth failure,
        # and the next wait runs to 09:16, when the 09:01 failure leaves
        assert freed.user is None
        assert _try(engine, name, PASSWORD, 15.5).retry_after == timedelta(seconds=30)


def test_throttle_treats_known_and_unknown_names_alike(engine: sa.Engine) -> None:
    answers = {}
    for name in ("mia", "nobody"):
        for minute in range(5):
            _try(engine, name, "wrong guess", minute)
        answers[name] = _try(engine, name, "wrong guess", 6)
    assert answers["mia"] == answers["nobody"]
    assert answers["mia"] == LoginOutcome(user=None, retry_after=timedelta(minutes=9))


def test_throttle_keeps_only_a_hash_of_the_name(engine: sa.Engine) -> None:
    _try(engine, "mia", "wrong guess", 0)
    _try(engine, "not-a-user", "wrong guess", 0)
    stored = _rows(engine)
    assert [h for h, _ in stored] == [
        hashlib.sha256(b"mia").hexdigest(),
        hashlib.sha256(b"not-a-user").hexdigest(),
    ]
    assert [at for _, at in stored] == [T0, T0]


def test_throttle_counts_per_name_and_a_success_starts_again(
    engine: sa.Engine,
) -> None:
    for minute in range(5):
        _try(engine, "mia", "wrong guess", minute)
    assert _try(engine, "mia", PASSWORD, 5).retry_after is not None
    # ben is not held back by mia's failures
    ben = _try(engine, "ben", PASSWORD, 5)
    assert ben.user is not None and ben.user.name == "ben"

    # four failures, then the right password: the count starts again at zero,
    # so five more failures are checked before the next refusal
    for minute in range(4):
        _try(engine, "ben", "wrong guess", 6 + minute)
    assert _try(engine, "ben", PASSWORD, 10).user is not None
    for minute in range(5):
        assert _try(engine, "ben", "wrong guess", 11 + minute).retry_after is None
    assert _try(engine, "ben", PASSWORD, 16).retry_after == timedelta(minutes=10)


def test_throttle_forgets_attempts_older_than_the_window(engine: sa.Engine) -> None:
    for name in ("a", "b", "c"):
        _try(engine, name, "wrong guess", 0)
    assert len(_rows(engine)) == 3
    # any attempt after the window deletes the old rows of every name
    _try(engine, "d", "wrong guess", 15)
    assert [h for h, _ in _rows(engine)] == [hashlib.sha256(b"d").hexdigest()]


def test_throttle_holds_across_workers_under_a_burst(store_url: str) -> None:
    # Two engines stand for two worker processes; twelve guesses arrive at once.
    workers = [make_engine(store_url), make_engine(store_url)]
    outcomes: list[LoginOutcome] = []
    start = threading.Barrier(12)

    def guess(n: int) -> None:
        start.wait()
        outcomes.append(_try(workers[n % 2], "mia", f"wrong guess {n}", 1))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # At most five passwords were checked, and exactly those are counted.
    checked = [o for o in outcomes if o.retry_after is None]
    assert len(outcomes) == 12
    assert len(checked) <= LIMIT.max_failures
    assert all(o.user is None for o in outcomes)
    assert len(_rows(workers[0])) == len(checked)

    # One at a time, the name gets exactly its remaining checks, then a refusal.
    for _ in range(LIMIT.max_failures - len(checked)):
        assert _try(workers[1], "mia", "wrong guess", 2).retry_after is None
    # free when the oldest failure leaves: 09:01 if the burst left one, else 09:02
    oldest = 1 if checked else 2
    wait = _try(workers[0], "mia", PASSWORD, 2).retry_after
    assert wait == timedelta(minutes=15 + oldest - 2)
    for worker in workers:
        worker.dispose()


def test_login_limit_refuses_a_zero_limit_or_window() -> None:
    with pytest.raises(ValueError, match="max_failures=0: expected 1 or more"):
        LoginLimit(max_failures=0, window=timedelta(minutes=1))
    with pytest.raises(ValueError, match="expected a positive duration"):
        LoginLimit(max_failures=5, window=timedelta(0))
