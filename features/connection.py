"""Opening a store: the engine for a URL, and its schema at the newest migration."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def sqlite_folder(url: str) -> Path | None:
    """Return the folder of a SQLite file store's URL; None for anything else."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).parent


def _create_private(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only, unless it exists.

    The store holds tickets and customers' names; SQLite itself would create
    the file with the process's umask (often readable by everyone). Its
    journal files take the database file's permissions.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: Seconds a SQLite connection waits for another's write lock before it fails
#: with "database is locked". The driver's 5 s was too short for two service
#: workers writing at once (tests/api/test_concurrent_writers.py).
SQLITE_LOCK_WAIT_SECONDS = 30.0


def make_engine(url: str, *, create_folder: bool = False) -> Engine:
    """Create an engine for ``url``; a SQLite file's folder must exist.

    ``create_folder`` makes it instead (for the default store only), so that a
    mistyped path never becomes a new, empty store. SQLite waits up to
    :data:`SQLITE_LOCK_WAIT_SECONDS` for a write lock unless the URL sets ``timeout``.
    """
    parsed = sa.engine.make_url(url)
    folder = sqlite_folder(url)
    if folder is not None:
        if create_folder:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise FileNotFoundError(
                f"the folder of the SQLite store {parsed.database} is missing"
            )
        _create_private(Path(str(parsed.database)))
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        wait = {"timeout": SQLITE_LOCK_WAIT_SECONDS}
        return sa.create_engine(url, future=True, connect_args=wait)
    return sa.create_engine(url, future=True)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The advisory lock key under which PostgreSQL migrations take turns.
_LOCK = 0x5741_6C6C


def create_schema(engine: Engine) -> None:
    """Bring the store's schema to the newest Alembic revision.

    A store made before migrations existed (tables, no ``alembic_version``)
    is stamped with the first revision, which matches it, and then upgraded.
    On PostgreSQL, processes that start together (several hosts) take turns
    under an advisory lock; ``stallwatch serve --workers N`` migrates once
    before it starts its workers.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        config.attributes["connection"] = conn
        tables = set(sa.inspect(conn).get_table_names())
        if "events" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")
