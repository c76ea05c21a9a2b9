"""The event store on SQLite and on the real local PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text as sa_text

from features.store import (
    count_events,
    create_schema,
    make_engine,
    read_events,
    write_events,
)

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("store", STORES)
def test_write_events_round_trip_and_reimport_adds_nothing(
    store: str, request: pytest.FixtureRequest, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(request.getfixturevalue(store))
    create_schema(engine)
    sample = uci_events.head(3_000)

    first = write_events(engine, sample)
    second = write_events(engine, sample.sample(frac=1.0, random_state=3))
    back = read_events(engine)

    assert (first, second, count_events(engine)) == (3_000, 0, 3_000)
    pd.testing.assert_frame_equal(back, sample.reset_index(drop=True))
    assert str(back["occurred_at"].dt.tz) == "UTC"


@pytest.mark.parametrize("store", STORES)
def test_read_events_until_and_by_ticket(
    store: str, request: pytest.FixtureRequest, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(request.getfixturevalue(store))
    create_schema(engine)
    sample = uci_events.head(2_000)
    write_events(engine, sample)
    cut = sample["occurred_at"].quantile(0.5)

    early = read_events(engine, until=cut)
    one = read_events(engine, ticket_ids=["INC0000047"])

    assert len(early) == int((sample["occurred_at"] <= cut).sum())
    assert set(one["ticket_id"]) == {"INC0000047"}
    assert len(one) == int((sample["ticket_id"] == "INC0000047").sum())


def test_write_events_rejects_naive_time(sqlite_url: str) -> None:
    import sqlalchemy as sa

    from features.store import events_table

    engine = make_engine(sqlite_url)
    create_schema(engine)
    naive = pd.Timestamp("2024-01-01").to_pydatetime()
    row = {
        "event_id": "x",
        "source": "t",
        "ticket_id": "T",
        "seq": 0,
        "kind": "created",
        "occurred_at": naive,
        "ingested_at": naive.replace(tzinfo=pd.Timestamp.now("UTC").tzinfo),
    }

    with (
        pytest.raises(sa.exc.StatementError, match=r"naive datetime"),
        engine.begin() as conn,
    ):
        conn.execute(events_table.insert(), row)
    assert count_events(engine) == 0


@pytest.mark.parametrize("store", STORES)
def test_create_schema_migrations_match_the_tables(
    store: str, request: pytest.FixtureRequest
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import features.access.tables
    import features.alerts.tables  # noqa: F401  (the alert tables join metadata)
    from features.store import metadata

    engine = make_engine(request.getfixturevalue(store))
    create_schema(engine)
    create_schema(engine)

    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.execute(sa_text("SELECT version_num FROM alembic_version"))
        assert version.scalar_one() == "0006"
    assert differences == []


def test_create_schema_upgrades_a_store_of_the_first_revision(
    sqlite_url: str, uci_events: pd.DataFrame
) -> None:
    from alembic import command
    from alembic.config import Config

    from features.store import MIGRATIONS

    engine = make_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa_text(
                "INSERT INTO events (event_id, source, ticket_id, seq, occurred_at,"
                " kind, ingested_at) VALUES ('old:1', 'old', 'T1', 0,"
                " '2016-03-01 10:00:00', 'created', '2016-03-01 10:00:00')"
            )
        )

    create_schema(engine)
    write_events(engine, uci_events.head(10).assign(customer_tier="gold"))

    events = read_events(engine)
    assert len(events) == 11
    assert events.loc[events["event_id"] == "old:1", "customer_tier"].isna().all()
    assert (events.loc[events["event_id"] != "old:1", "customer_tier"] == "gold").all()


@pytest.mark.postgres
def test_create_schema_from_processes_starting_together_migrates_once(
    postgres_url: str,
) -> None:
    import subprocess
    import sys

    # Four processes migrate one new schema at once, as workers or hosts do.
    script = (
        "import sys; from features.store import create_schema, make_engine; "
        "create_schema(make_engine(sys.argv[1]))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        versions = conn.execute(sa_text("SELECT version_num FROM alembic_version"))
        assert versions.scalars().all() == ["0006"]
