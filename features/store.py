"""The event store: canonical events in SQLite or PostgreSQL through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine

from features.events import EVENT_COLUMNS, conform_events


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC instant."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: an instant needs a zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

events_table = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("ticket_id", sa.String(120), nullable=False, index=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200)),
    sa.Column("actor_role", sa.String(20)),
    sa.Column("requester", sa.String(200)),
    sa.Column("group", sa.String(200)),
    sa.Column("assignee", sa.String(200)),
    sa.Column("status", sa.String(60)),
    sa.Column("priority", sa.String(20)),
    sa.Column("channel", sa.String(20)),
    sa.Column("category", sa.String(200)),
    sa.Column("subcategory", sa.String(200)),
    sa.Column("topic", sa.Text),
    sa.Column("ingested_at", UTCDateTime, nullable=False),
)

imports_table = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("file_name", sa.String(500), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("rows_read", sa.BigInteger, nullable=False),
    sa.Column("events_seen", sa.BigInteger, nullable=False),
    sa.Column("events_written", sa.BigInteger, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=False),
)

_INSERT_CHUNK = 5_000


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder made."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, future=True)


def create_schema(engine: Engine) -> None:
    """Create the store's tables where they do not exist yet."""
    metadata.create_all(engine)


def _insert_ignoring_duplicates(engine: Engine) -> sa.sql.dml.Insert:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(events_table).on_conflict_do_nothing(
            index_elements=["event_id"]
        )
    if engine.dialect.name == "sqlite":
        return sqlite.insert(events_table).on_conflict_do_nothing(
            index_elements=["event_id"]
        )
    raise NotImplementedError(f"database {engine.dialect.name!r} is not supported")


def _records(frame: pd.DataFrame, ingested_at: datetime) -> Iterable[dict[str, Any]]:
    columns = list(EVENT_COLUMNS)
    as_object = frame[columns].astype(object).where(frame[columns].notna(), None)
    stamps = frame["occurred_at"].dt.to_pydatetime()
    for i, row in enumerate(as_object.itertuples(index=False, name=None)):
        record = dict(zip(columns, row, strict=True))
        record["occurred_at"] = stamps[i]
        record["seq"] = int(record["seq"])
        record["ingested_at"] = ingested_at
        yield record


def write_events(
    engine: Engine,
    frame: pd.DataFrame,
    *,
    import_record: dict[str, Any] | None = None,
) -> int:
    """Insert events in one transaction; events already stored are skipped.

    Parameters
    ----------
    engine : Engine
        The store.
    frame : DataFrame
        Canonical events (see :data:`features.events.EVENT_COLUMNS`).
    import_record : dict, optional
        Row for the ``imports`` table, written in the same transaction.

    Returns
    -------
    int
        Number of events newly written.
    """
    frame = conform_events(frame)
    statement = _insert_ignoring_duplicates(engine)
    now = datetime.now(UTC)
    written = 0
    with engine.begin() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(events_table))
        count_before = int(before.scalar_one())
        batch: list[dict[str, Any]] = []
        for record in _records(frame, now):
            batch.append(record)
            if len(batch) >= _INSERT_CHUNK:
                conn.execute(statement, batch)
                batch = []
        if batch:
            conn.execute(statement, batch)
        after = conn.execute(sa.select(sa.func.count()).select_from(events_table))
        written = int(after.scalar_one()) - count_before
        if import_record is not None:
            conn.execute(
                imports_table.insert(),
                {**import_record, "events_written": written, "finished_at": now},
            )
    return written


def read_events(
    engine: Engine,
    *,
    ticket_ids: Sequence[str] | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Read canonical events, optionally only some tickets or up to an instant."""
    columns = [events_table.c[name] for name in EVENT_COLUMNS]
    query = sa.select(*columns)
    if ticket_ids is not None:
        query = query.where(events_table.c.ticket_id.in_(list(ticket_ids)))
    if until is not None:
        query = query.where(events_table.c.occurred_at <= until)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    return conform_events(frame)


def count_events(engine: Engine) -> int:
    """Return how many events the store holds."""
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(events_table))
        return int(total.scalar_one())
