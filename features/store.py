"""The event store: canonical events in SQLite or PostgreSQL through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine

from features.bulk_store import insert_new_events, read_event_frame
from features.connection import (
    MIGRATIONS,
    SQLITE_LOCK_WAIT_SECONDS,
    create_schema,
    make_engine,
    sqlite_folder,
)
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
    sa.Column("customer_tier", sa.String(60)),
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

rejected_table = sa.Table(
    "rejected_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("problems", sa.Text, nullable=False),
)

#: One row (``id`` 1): how many events the store holds. Every write of events
#: adds to it in its own transaction, so a reader learns that the store
#: changed from one primary-key read instead of counting the events.
store_version_table = sa.Table(
    "store_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("events", sa.BigInteger, nullable=False),
)

_INSERT_CHUNK = 5_000


def _insert_ignoring_duplicates(engine: Engine) -> sa.sql.dml.Insert:
    # Each dialect's own "on conflict do nothing"; the primary key decides.
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


def insert_events(conn: sa.Connection, frame: pd.DataFrame) -> set[str]:
    """Insert canonical events inside an open transaction, skipping stored ones.

    Returns
    -------
    set of str
        The ``event_id`` of every event this call wrote; an id already in the
        store (or earlier in ``frame``) is not written again.
    """
    statement = _insert_ignoring_duplicates(conn.engine).returning(
        events_table.c.event_id
    )
    written: set[str] = set()
    batch: list[dict[str, Any]] = []
    for record in _records(conform_events(frame), datetime.now(UTC)):
        batch.append(record)
        if len(batch) >= _INSERT_CHUNK:
            written.update(conn.execute(statement, batch).scalars())
            batch = []
    if batch:
        written.update(conn.execute(statement, batch).scalars())
    _add_to_version(conn, len(written))
    return written


def _add_to_version(conn: sa.Connection, written: int) -> None:
    if written:
        # Row-locked until commit: concurrent writers add up in commit order.
        counter = store_version_table.c.events
        conn.execute(
            store_version_table.update()
            .where(store_version_table.c.id == 1)
            .values(events=counter + written)
        )


#: Columns that must agree for a resent event to count as the same event.
_IDENTITY = [c for c in EVENT_COLUMNS if c not in ("event_id", "source", "seq")]


def differing_events(conn: sa.Connection, sent: pd.DataFrame) -> set[str]:
    """Return ids of ``sent`` events stored earlier with other content."""
    if sent.empty:
        return set()
    ids = sent["event_id"].tolist()
    columns = [events_table.c[name] for name in EVENT_COLUMNS]
    stored = pd.DataFrame(
        conn.execute(sa.select(*columns).where(events_table.c.event_id.in_(ids))).all(),
        columns=list(EVENT_COLUMNS),
    )
    if stored.empty:
        return set()
    stored = conform_events(stored).set_index("event_id")[_IDENTITY]
    mine = sent.set_index("event_id").loc[stored.index, _IDENTITY]
    equal = (mine.astype(str) == stored.astype(str)) & mine.notna() & stored.notna()
    same = (equal | (mine.isna() & stored.isna())).all(axis=1)
    return set(same.index[~same.to_numpy()])


def ingest_live_events(
    engine: Engine,
    accepted: list[dict[str, Any]],
    rejected: list[tuple[str, str]],
) -> tuple[set[str], set[str]]:
    """Store live events and keep every refused payload, in one transaction.

    Parameters
    ----------
    engine : Engine
        The store.
    accepted : list of dict
        Validated events with the canonical fields and a store-wide
        ``event_id``.
    rejected : list of (str, str)
        Each refused payload and the problems found, both as JSON text; kept
        in ``rejected_events`` so that nothing a sender sent is lost.

    Returns
    -------
    written : set of str
        Ids of the events newly stored.
    conflicting : set of str
        Ids already stored with other content; the stored event is kept.
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        frame = conform_events(pd.DataFrame(accepted)) if accepted else None
        written = insert_events(conn, frame) if frame is not None else set()
        conflicting: set[str] = set()
        if frame is not None:
            resent = frame[~frame["event_id"].isin(written)]
            conflicting = differing_events(conn, resent.drop_duplicates("event_id"))
        if rejected:
            conn.execute(
                rejected_table.insert(),
                [
                    {"received_at": now, "channel": "api", "payload": p, "problems": e}
                    for p, e in rejected
                ],
            )
    return written, conflicting


def keep_rejected(engine: Engine, rejected: list[tuple[str, str]]) -> None:
    """Keep refused payloads (JSON text) with their problems, for inspection."""
    if not rejected:
        return
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            rejected_table.insert(),
            [
                {"received_at": now, "channel": "api", "payload": p, "problems": e}
                for p, e in rejected
            ],
        )


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
    with engine.begin() as conn:
        written = insert_new_events(conn, events_table, frame, datetime.now(UTC))
        _add_to_version(conn, written)
        if import_record is not None:
            conn.execute(
                imports_table.insert(),
                {
                    **import_record,
                    "events_written": written,
                    "finished_at": datetime.now(UTC),
                },
            )
    return written


def read_events(
    engine: Engine,
    *,
    ticket_ids: Sequence[str] | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Read canonical events, optionally only some tickets or up to an instant."""
    if ticket_ids is not None and not ticket_ids:
        return conform_events(pd.DataFrame(columns=list(EVENT_COLUMNS)))
    with engine.connect() as conn:
        return read_event_frame(
            conn,
            events_table,
            ticket_ids=None if ticket_ids is None else list(ticket_ids),
            until=until,
        )


def tickets_ingested_since(engine: Engine, since: datetime) -> list[str]:
    """Return the tickets that received an event stored at or after ``since``."""
    query = (
        sa.select(events_table.c.ticket_id)
        .where(events_table.c.ingested_at >= since)
        .distinct()
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def count_events(engine: Engine) -> int:
    """Return how many events the store holds, counting them (O(events))."""
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(events_table))
        return int(total.scalar_one())


def store_version(engine: Engine) -> int:
    """Return how many events the store holds, from its one-row counter (O(1)).

    Equals :func:`count_events` after every committed write; a service
    compares it between requests to see events written by any process.
    """
    query = sa.select(store_version_table.c.events).where(store_version_table.c.id == 1)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def ticket_spans(
    engine: Engine, ticket_ids: Iterable[str]
) -> dict[str, tuple[datetime | None, datetime]]:
    """Return each stored ticket's earliest ``created`` instant and earliest event.

    Tickets the store does not hold are left out; the first instant is None
    for a ticket stored without a ``created`` event.
    """
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return {}
    table = events_table.c
    created = sa.case((table.kind == "created", table.occurred_at), else_=None)
    query = (
        sa.select(
            table.ticket_id,
            sa.func.min(created).label("created_at"),
            sa.func.min(table.occurred_at).label("first_at"),
        )
        .where(table.ticket_id.in_(wanted))
        .group_by(table.ticket_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        str(row.ticket_id): (_aware(row.created_at), _aware(row.first_at))
        for row in rows
    }


def _aware(value: Any) -> Any:
    # An aggregate over the UTC column may come back naive (SQLite) or as text.
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp).to_pydatetime()


# Opening and migrating a store live in features.connection; they are named
# here too, where every caller has always found them.
__all__ = [
    "MIGRATIONS",
    "SQLITE_LOCK_WAIT_SECONDS",
    "create_schema",
    "make_engine",
    "sqlite_folder",
]
