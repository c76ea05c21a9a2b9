"""Bulk writing and reading of canonical events, a chunk at a time.

The event store (:mod:`features.store`) writes a whole import and reads the
whole history through these functions. They skip SQLAlchemy's per-value type
processing: each chunk of events is turned into plain tuples with vectorised
conversions and handed to the driver's ``executemany``, and each partition of
rows read back is turned into typed columns at once. Rows written here are
stored exactly as SQLAlchemy stores them through ``UTCDateTime``: a naive UTC
timestamp, which SQLite keeps as text ``YYYY-MM-DD HH:MM:SS.ffffff``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from features.events import EVENT_COLUMNS, conform_events

#: Events turned into tuples and sent to the database at a time.
WRITE_CHUNK_ROWS = 50_000
#: Rows fetched from the database and turned into columns at a time.
READ_PARTITION_ROWS = 100_000

#: Columns written, in order: the canonical ones and the moment of storing.
_WRITTEN = [*EVENT_COLUMNS, "ingested_at"]


def stamp_texts(stamps: pd.Series) -> list[str | None]:
    """Return aware instants as naive UTC text with microseconds.

    Parameters
    ----------
    stamps : Series
        Timezone-aware datetimes.

    Returns
    -------
    list of str or None
        ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, as SQLAlchemy's SQLite
        ``DATETIME`` stores them and PostgreSQL reads them into a
        ``timestamp``; None for a missing instant. Nanoseconds are dropped
        (rounded down to the microsecond), as ``to_pydatetime`` does.
    """
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    micro = naive.to_numpy().astype("datetime64[us]")
    texts = pc.cast(pa.array(micro), pa.string())
    return list(texts.to_pylist())


def _marker(dialect: Dialect) -> str:
    if dialect.paramstyle == "qmark":
        return "?"
    if dialect.paramstyle in ("format", "pyformat"):
        return "%s"
    raise NotImplementedError(f"parameter style {dialect.paramstyle!r}")


def insert_statement(dialect: Dialect, table: sa.Table) -> str:
    """Return the driver-level insert of one event that skips stored ids."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in _WRITTEN)
    markers = ", ".join(_marker(dialect) for _ in _WRITTEN)
    return (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({names}) VALUES ({markers}) "
        f"ON CONFLICT ({quote('event_id')}) DO NOTHING"
    )


def event_tuples(chunk: pd.DataFrame, ingested: str) -> list[tuple[Any, ...]]:
    """Return conformed events as tuples of plain values in ``_WRITTEN`` order.

    Missing values become None, ``seq`` a Python int and ``occurred_at`` the
    stored text (see :func:`stamp_texts`); ``ingested`` ends every tuple.
    """
    columns: list[Iterable[Any]] = []
    for name in EVENT_COLUMNS:
        values = chunk[name]
        if name == "occurred_at":
            columns.append(stamp_texts(values))
        elif name == "seq":
            columns.append(values.tolist())
        else:
            columns.append(values.to_numpy(dtype=object, na_value=None))
    columns.append([ingested] * len(chunk))
    return list(zip(*columns, strict=True))


def insert_new_events(
    conn: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    ingested_at: datetime,
    *,
    chunk_rows: int = WRITE_CHUNK_ROWS,
) -> int:
    """Insert events inside an open transaction, skipping ids already stored.

    Parameters
    ----------
    conn : Connection
        An open transaction on the store.
    table : Table
        The ``events`` table.
    frame : DataFrame
        Events; they are conformed first, so the first of several rows with
        one ``event_id`` in canonical order is the one kept.
    ingested_at : datetime
        The aware instant stored as every written event's ``ingested_at``.
    chunk_rows : int
        Events sent per ``executemany``.

    Returns
    -------
    int
        How many events were written: the rows the database reports inserted,
        so neither duplicates within ``frame`` nor stored ids are counted.
    """
    events = conform_events(frame)
    statement = insert_statement(conn.dialect, table)
    (ingested,) = stamp_texts(pd.Series([pd.Timestamp(ingested_at)]))
    written = 0
    for start in range(0, len(events), chunk_rows):
        rows = event_tuples(events.iloc[start : start + chunk_rows], str(ingested))
        written += conn.exec_driver_sql(statement, rows).rowcount
    return written


def _columns(rows: Sequence[Sequence[Any]], stamps_as_text: bool) -> pd.DataFrame:
    # One partition of rows, transposed and given the canonical dtypes.
    table = np.empty((len(rows), len(EVENT_COLUMNS)), dtype=object)
    table[:] = rows
    data: dict[str, Any] = {}
    for i, (name, dtype) in enumerate(EVENT_COLUMNS.items()):
        values = table[:, i]
        if name == "occurred_at":
            text = "ISO8601" if stamps_as_text else None
            stamps = pd.to_datetime(values, utc=True, format=text)
            data[name] = pd.Series(stamps).astype(dtype)
        elif name == "seq":
            data[name] = values.astype(np.int64)
        else:
            # Not pandas semantics: only None is missing, and it is faster.
            text_values = pa.array(values, pa.large_string(), from_pandas=False)
            data[name] = pd.array(text_values, dtype=dtype)
    return pd.DataFrame(data)


def select_statement(
    dialect: Dialect,
    table: sa.Table,
    ticket_ids: Sequence[str] | None,
    until: datetime | None,
) -> tuple[str, list[str]]:
    """Return the driver-level select of canonical events and its parameters.

    ``ticket_ids`` keeps only those tickets; ``until`` (aware) only events
    that occurred at or before it, compared as stored: naive UTC.
    """
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in EVENT_COLUMNS)
    sql = f"SELECT {names} FROM {dialect.identifier_preparer.format_table(table)}"
    conditions: list[str] = []
    parameters: list[str] = []
    if ticket_ids is not None:
        markers = ", ".join(_marker(dialect) for _ in ticket_ids)
        conditions.append(f"{quote('ticket_id')} IN ({markers})")
        parameters.extend(str(ticket) for ticket in ticket_ids)
    if until is not None:
        if until.tzinfo is None:
            raise ValueError(f"naive datetime {until!r}: an instant needs a zone")
        conditions.append(f"{quote('occurred_at')} <= {_marker(dialect)}")
        parameters.extend(str(t) for t in stamp_texts(pd.Series([until])))
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    return sql, parameters


def read_event_frame(
    conn: sa.Connection,
    table: sa.Table,
    *,
    ticket_ids: Sequence[str] | None = None,
    until: datetime | None = None,
    partition_rows: int = READ_PARTITION_ROWS,
) -> pd.DataFrame:
    """Read canonical events into one conformed frame, a partition at a time.

    Rows are fetched from the driver's cursor as plain tuples (a server-side
    cursor on PostgreSQL) and each partition is turned into typed columns at
    once, so only one partition is ever held as Python objects. SQLite's
    stored timestamp text is parsed by pandas in one call per partition;
    PostgreSQL's naive timestamps are taken as UTC.
    """
    dialect = conn.dialect
    sql, parameters = select_statement(dialect, table, ticket_ids, until)
    driver = conn.connection.dbapi_connection
    if driver is None:  # pragma: no cover - an open connection has one
        raise RuntimeError("the store connection is closed")
    postgres = dialect.name == "postgresql"
    cursor = driver.cursor(name="stallwatch_events") if postgres else driver.cursor()
    pieces: list[pd.DataFrame] = []
    try:
        cursor.execute(sql, parameters)
        while rows := cursor.fetchmany(partition_rows):
            pieces.append(_columns(rows, stamps_as_text=not postgres))
    finally:
        cursor.close()
    if not pieces:
        return conform_events(pd.DataFrame(columns=list(EVENT_COLUMNS)))
    frame = pd.concat(pieces, ignore_index=True)
    pieces.clear()
    return conform_events(frame)
