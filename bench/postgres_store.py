"""A copy of the bench's store in a PostgreSQL schema, for the multi-worker runs.

The service scales out as several uvicorn workers on one PostgreSQL store; the
HTTP benchmark runs it beside the SQLite one. The schema ``stallwatch_bench``
of the given database is dropped and filled again with the events of the
SQLite store, so every run starts from the same rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from features.store import create_schema, make_engine, read_events, write_events

#: The local server that tests and benches use (trust auth, database ``test``).
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "stallwatch_bench"


def copy_store(sqlite_url: str, postgres_url: str = DEFAULT_URL) -> str | None:
    """Copy the events of ``sqlite_url`` into a fresh schema; return its URL.

    None (and a printed reason) when the PostgreSQL server does not answer.
    """
    admin = sa.create_engine(postgres_url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
    except sa.exc.OperationalError as exc:
        print(f"bench: PostgreSQL at {postgres_url} does not answer ({exc}); skipped")
        return None
    finally:
        admin.dispose()
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{SCHEMA}"
    source = make_engine(sqlite_url)
    events = read_events(source)
    source.dispose()
    target = make_engine(url)
    create_schema(target)
    write_events(target, events)
    target.dispose()
    print(f"bench: {len(events):,} events copied to PostgreSQL schema {SCHEMA}")
    return url
