"""The store's one-row event counter against counting the events themselves."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from features.store import (
    count_events,
    create_schema,
    ingest_live_events,
    make_engine,
    store_version,
    write_events,
)
from tests.conftest import REPO

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]


def _records(events: pd.DataFrame) -> list[dict[str, object]]:
    return events.astype(object).where(events.notna(), None).to_dict("records")


@pytest.mark.parametrize("store", STORES)
def test_store_version_follows_every_write_and_skips_duplicates(
    store: str, request: pytest.FixtureRequest, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(request.getfixturevalue(store))
    create_schema(engine)
    first, live = uci_events.iloc[:2_000], uci_events.iloc[2_000:2_300]
    start = store_version(engine)

    write_events(engine, first)
    after_import = store_version(engine)
    write_events(engine, first)  # a re-import writes nothing
    after_again = store_version(engine)
    # Live events: 300 new ones and 100 already stored.
    sent = _records(pd.concat([live, first.iloc[:100]]))
    written, _ = ingest_live_events(engine, sent, [])

    assert (start, after_import, after_again) == (0, 2_000, 2_000)
    assert len(written) == 300
    assert store_version(engine) == count_events(engine) == 2_300


@pytest.mark.parametrize("store", STORES)
def test_store_version_sees_a_write_by_another_process(
    store: str, request: pytest.FixtureRequest, uci_head: Path
) -> None:
    url = request.getfixturevalue(store)
    engine = make_engine(url)
    create_schema(engine)
    before = store_version(engine)
    script = (
        "from features.importers.uci import load_uci\n"
        "from features.store import make_engine, write_events\n"
        f"events = load_uci({str(uci_head)!r}).events.head(500)\n"
        f"print(write_events(make_engine({url!r}), events))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == "500"
    assert (before, store_version(engine)) == (0, 500)


@pytest.mark.postgres
def test_store_version_adds_up_concurrent_writers(
    postgres_url: str, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(postgres_url)
    create_schema(engine)
    tickets = uci_events["ticket_id"].drop_duplicates().iloc[:400]
    parts = [
        uci_events[uci_events["ticket_id"].isin(tickets.iloc[i::4])] for i in range(4)
    ]
    written: list[int] = []

    def write(part: pd.DataFrame) -> None:
        for start in range(0, len(part), 50):
            chunk = _records(part.iloc[start : start + 50])
            written.append(len(ingest_live_events(engine, chunk, [])[0]))

    threads = [threading.Thread(target=write, args=(part,)) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(written) == sum(len(p) for p in parts) > 1_000
    assert store_version(engine) == count_events(engine) == sum(written)


def test_migration_starts_the_counter_at_the_stored_events(
    sqlite_url: str, uci_events: pd.DataFrame
) -> None:
    engine = make_engine(sqlite_url)
    create_schema(engine)
    write_events(engine, uci_events.head(700))
    # The store as the revision before the counter left it.
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE store_version"))
        conn.execute(sa.text("DROP TABLE login_attempts"))  # 0006, later still
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))

    create_schema(engine)

    assert store_version(engine) == count_events(engine) == 700
