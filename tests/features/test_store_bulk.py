"""The bulk path of the event store agrees with the row-by-row path, as stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from features.bulk_store import insert_new_events, read_event_frame
from features.events import EVENT_COLUMNS, conform_events
from features.store import (
    count_events,
    create_schema,
    events_table,
    imports_table,
    insert_events,
    make_engine,
    read_events,
    store_version,
    write_events,
)

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def engine(request: pytest.FixtureRequest) -> sa.Engine:
    """An empty store with the schema, on SQLite and on PostgreSQL."""
    engine = make_engine(request.getfixturevalue(request.param))
    create_schema(engine)
    return engine


#: Every stored column but the moment of storing, each read back as text.
_AS_TEXT = ", ".join(f'CAST("{c}" AS TEXT)' for c in EVENT_COLUMNS)


def _sample() -> pd.DataFrame:
    # Seven rows, six distinct ids: "e2" comes twice with the same content.
    rows = [
        ("e1", "T1", 1, "2024-03-01T10:00:00+00:00", "created", "Ops", "Ünïcødé ✓"),
        ("e2", "T1", 2, "2024-03-01T12:00:00.123456+05:30", "agent_reply", None, None),
        ("e3", "T2", 1, "2024-03-02T00:00:00.000001-08:00", "created", "Net", "漢字"),
        ("e4", "T2", 2, "2024-03-02T09:00:00.999999999+00:00", "resolved", None, ""),
        ("e5", "T3", 1, "2024-03-03T23:59:59.5+01:00", "created", "Ops", "a'b\"c"),
        ("e2", "T1", 2, "2024-03-01T12:00:00.123456+05:30", "agent_reply", None, None),
        ("e6", "T3", 2, "2024-03-04T00:00:00+00:00", "closed", "Ops", None),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["event_id", "ticket_id", "seq", "at", "kind", "group", "topic"],
    )
    frame["occurred_at"] = [pd.Timestamp(at) for at in frame.pop("at")]
    frame["source"] = "test"
    frame["actor"] = ["ann", None, "bob", None, "cy", None, "dee"]
    return frame


#: The stored text of each distinct event's instant, naive UTC, by hand:
#: offsets taken off, nanoseconds dropped (as ``to_pydatetime`` drops them).
_STORED_AT = {
    "e1": "2024-03-01 10:00:00",
    "e2": "2024-03-01 06:30:00.123456",
    "e3": "2024-03-02 08:00:00.000001",
    "e4": "2024-03-02 09:00:00.999999",
    "e5": "2024-03-03 22:59:59.5",
    "e6": "2024-03-04 00:00:00",
}


def _stored_rows(engine: sa.Engine) -> list[tuple[str | None, ...]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {_AS_TEXT} FROM events ORDER BY event_id"
        ).all()
    return [tuple(row) for row in rows]


def _ingested_texts(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT CAST(ingested_at AS TEXT) FROM events")
        return {str(value) for (value,) in rows}


def _instant_texts(stored: list[tuple[str | None, ...]]) -> dict[str, str]:
    # SQLite keeps SQLAlchemy's text with all six fraction digits, PostgreSQL
    # prints trailing zeros off: compare both as one normal form.
    at = list(EVENT_COLUMNS).index("occurred_at")
    out = {}
    for row in stored:
        text = str(row[at])
        out[str(row[0])] = text.rstrip("0").rstrip(".") if "." in text else text
    return out


def test_bulk_and_row_paths_store_the_same_rows(engine: sa.Engine) -> None:
    # The same events through each path into the emptied table, in turn.
    written = write_events(engine, _sample())
    stored, ingested = _stored_rows(engine), _ingested_texts(engine)
    back = read_events(engine)
    with engine.begin() as conn:
        conn.execute(events_table.delete())
    with engine.begin() as conn:
        ids = insert_events(conn, _sample())

    assert (written, sorted(ids)) == (6, ["e1", "e2", "e3", "e4", "e5", "e6"])
    assert stored == _stored_rows(engine)
    assert _instant_texts(stored) == _STORED_AT
    group = list(EVENT_COLUMNS).index("group")
    topic = list(EVENT_COLUMNS).index("topic")
    assert [(r[group], r[topic]) for r in stored] == [
        ("Ops", "Ünïcødé ✓"),
        (None, None),
        ("Net", "漢字"),
        (None, ""),
        ("Ops", "a'b\"c"),
        ("Ops", None),
    ]
    # One instant per write, stored in the same form by both paths.
    (mine,), (theirs,) = ingested, _ingested_texts(engine)
    form = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?"
    assert re.fullmatch(form, mine) and re.fullmatch(form, theirs)
    if engine.dialect.name == "sqlite":  # SQLAlchemy's text, microseconds always
        assert len(mine) == len(theirs) == 26
    pd.testing.assert_frame_equal(back, read_events(engine))


def test_bulk_round_trip_keeps_values(engine: sa.Engine) -> None:
    write_events(engine, _sample())

    back = read_events(engine).set_index("event_id")
    with engine.connect() as conn:  # SQLAlchemy's typed rows, as read before
        typed = conn.execute(sa.select(*events_table.c[*EVENT_COLUMNS])).all()
    reference = conform_events(pd.DataFrame(typed, columns=list(EVENT_COLUMNS)))

    pd.testing.assert_frame_equal(back.reset_index(), reference)

    # Canonical order: by ticket, then instant (e2 is 06:30 UTC, e1 10:00).
    assert list(back.index) == ["e2", "e1", "e3", "e4", "e5", "e6"]
    assert back.loc["e3", "occurred_at"] == pd.Timestamp("2024-03-02 08:00:00.000001Z")
    assert back.loc["e4", "occurred_at"] == pd.Timestamp("2024-03-02 09:00:00.999999Z")
    assert back.loc["e3", "topic"] == "漢字"
    assert back.loc["e1", "group"] == "Ops"
    assert pd.isna(back.loc["e2", "group"]) and pd.isna(back.loc["e2", "actor"])
    assert back.loc["e4", "topic"] == ""
    # Filled by conforming before the write, as the row path does.
    assert back.loc["e4", "status"] == "resolved"
    assert back.loc["e6", "actor_role"] == "agent"


def test_bulk_counts_duplicates_across_chunks_and_stored_ids(engine: sa.Engine) -> None:
    first = _sample()  # 7 rows, 6 ids
    second = pd.concat([first.iloc[[0, 3]], first.iloc[[0]]])
    second["event_id"] = ["e1", "e7", "e7"]  # e1 stored; e7 new, twice

    with engine.begin() as conn:
        now = datetime.now(UTC)
        counts = [
            insert_new_events(conn, events_table, first, now, chunk_rows=2),
            insert_new_events(conn, events_table, second, now, chunk_rows=1),
            insert_new_events(conn, events_table, first.iloc[:0], now),
        ]

    assert counts == [6, 1, 0]
    with engine.connect() as conn:
        assert len(read_event_frame(conn, events_table, partition_rows=3)) == 7


def test_write_events_counts_and_records_the_import(engine: sa.Engine) -> None:
    record = {
        "source": "test",
        "file_name": "a.csv",
        "file_sha256": "0" * 64,
        "rows_read": 7,
        "events_seen": 7,
    }

    counts = [write_events(engine, _sample(), import_record=record) for _ in "ab"]

    with engine.connect() as conn:
        logged = conn.execute(
            sa.select(imports_table.c.events_written).order_by(imports_table.c.id)
        ).scalars()
        assert list(logged) == [6, 0]
    assert counts == [6, 0]
    assert store_version(engine) == count_events(engine) == 6


def test_write_events_is_all_or_nothing(engine: sa.Engine) -> None:
    broken = {"source": "test", "file_name": "a.csv"}  # required columns missing

    with pytest.raises(sa.exc.IntegrityError):
        write_events(engine, _sample(), import_record=broken)

    assert (count_events(engine), store_version(engine)) == (0, 0)


def test_read_filters_pick_the_rows_worked_out_by_hand(engine: sa.Engine) -> None:
    write_events(engine, _sample())

    def ids(**kwargs: object) -> list[str]:
        return list(read_events(engine, **kwargs)["event_id"])  # type: ignore[arg-type]

    # e2 happened at 06:30:00.123456 UTC: the bound is inclusive.
    india = timezone(timedelta(hours=5, minutes=30))
    at_e2 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=india)
    assert ids(until=at_e2) == ["e2"]
    assert ids(until=at_e2 - timedelta(microseconds=1)) == []
    assert ids(until=datetime(2024, 3, 2, 9, 0, 0, 999999, tzinfo=UTC)) == [
        "e2",
        "e1",
        "e3",
        "e4",
    ]
    assert ids(ticket_ids=["T3", "T1", "nope"]) == ["e2", "e1", "e5", "e6"]
    assert ids(ticket_ids=["T2"], until=datetime(2024, 3, 2, 8, tzinfo=UTC)) == []
    assert ids(ticket_ids=[]) == []
    with pytest.raises(ValueError, match="naive datetime"):
        read_events(engine, until=datetime(2024, 3, 2))


def test_read_of_an_empty_store_is_a_conformed_empty_frame(engine: sa.Engine) -> None:

    back = read_events(engine)

    assert back.empty
    assert {c: str(t) for c, t in back.dtypes.items()} == {
        c: str(pd.Series([], dtype=t).dtype) for c, t in EVENT_COLUMNS.items()
    }
