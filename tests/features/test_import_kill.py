"""An import killed with SIGKILL in the middle of its write leaves nothing behind.

``stallwatch import`` (the UCI importer and the mapped importer) runs as a
real subprocess on a real log: the bundled UCI incident log, or its first
40,000 rows where the whole log's write would take long (see CASES). The test
waits until the import's one transaction has written rows it has not yet
committed (SQLite: the rollback journal exists and the file has grown;
PostgreSQL: the import's session holds an open write transaction and the
events table has grown), freezes the process with SIGSTOP, checks that the
transaction is still open, and kills it with SIGKILL. The store must then
hold none of the import's events and no ``imports`` row. Running the same
import again must store exactly the events an uninterrupted import stores,
found without the killed run: from the file with pandas, and from an import
into a separate store.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.store import (
    count_events,
    create_schema,
    events_table,
    imports_table,
    make_engine,
    rejected_table,
    store_version,
)
from stallwatch.importing import import_builtin
from tests.conftest import REPO, UCI_FILE
from tests.processes import freeze, kill_frozen, reap, wait_until

#: The mapped importer reads the UCI log as a CRM export: one event per row.
MAPPING = """
format: csv
source: ucimapped
ticket_id: {column: number}
occurred_at: {column: sys_updated_at, format: "%d/%m/%Y %H:%M", timezone: UTC}
kind:
  column: incident_state
  values:
    New: status_changed
    Active: status_changed
    Awaiting User Info: status_changed
    Awaiting Vendor: status_changed
    Awaiting Problem: status_changed
    Awaiting Evidence: status_changed
    Resolved: resolved
    Closed: closed
    "-100": internal_note
fields:
  actor: {column: sys_updated_by}
  group: {column: assignment_group}
  category: {column: category}
  priority:
    column: priority
    values:
      "1 - Critical": critical
      "2 - High": high
      "3 - Moderate": moderate
      "4 - Low": low
"""

PG = pytest.mark.postgres
#: (importer, store, log, MiB): each write lasts seconds, so the kill has room
#: to land. SQLite takes the whole log's 161,380 UCI events in about 3 s; the
#: mapped importer and PostgreSQL (about 4,500 events/s) get the 40,000-row
#: slice. The kill waits until the store has grown by MiB, uncommitted: about
#: a fifth to a half of what the whole import writes.
CASES = [
    pytest.param("uci", "sqlite_url", "whole", 12, id="uci-sqlite"),
    pytest.param("mapped", "sqlite_url", "slice", 2, id="mapped-sqlite"),
    pytest.param("uci", "postgres_url", "slice", 3, id="uci-postgresql", marks=PG),
    pytest.param(
        "mapped", "postgres_url", "slice", 3, id="mapped-postgresql", marks=PG
    ),
]


@dataclass(frozen=True)
class Expected:
    """What an uninterrupted import of one file stores, found without the kill."""

    rows: int
    tickets: int
    event_ids: frozenset[str]
    sha256: str


def _stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(events_table.c.event_id)).scalars())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def expected(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str, Path], Expected]:
    """Return what importing a file stores: pandas counts, and the event ids.

    The mapped importer writes one event per row, ``<source>:<number>:<line>``,
    so pandas gives its ids. The UCI importer derives events from the changes
    between snapshots; its ids come from an uninterrupted import into a
    separate store.
    """
    known: dict[tuple[str, Path], Expected] = {}

    def find(importer: str, path: Path) -> Expected:
        if (importer, path) in known:
            return known[importer, path]
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        if importer == "mapped":
            ids = {f"ucimapped:{n}:{i + 2}" for i, n in enumerate(rows["number"])}
        else:
            folder = tmp_path_factory.mktemp("control")
            engine = make_engine(f"sqlite:///{folder / 'control.db'}")
            import_builtin(engine, "uci", path, source_timezone=None)
            ids = _stored_ids(engine)
            engine.dispose()
        known[importer, path] = Expected(
            rows=len(rows),
            tickets=int(rows["number"].nunique()),
            event_ids=frozenset(ids),
            sha256=_sha256(path),
        )
        return known[importer, path]

    return find


class WriteWatch(Protocol):
    """Tells, from outside the importing process, how far its write has come."""

    def grown(self) -> int:
        """Bytes the events have added to the store, committed or not."""

    def in_progress(self) -> bool:
        """Rows written, transaction open: the moment to kill."""

    def still_open(self) -> bool:
        """The import's transaction has not committed."""

    def where(self) -> str:
        """Say where the write stands, for the report."""

    def settled(self) -> bool:
        """Nothing of the killed process remains in the database server."""


class SqliteWrite:
    """Watches a SQLite file for an import's open write transaction."""

    def __init__(self, url: str, grown: int) -> None:
        self.db = Path(url.removeprefix("sqlite:///"))
        self.journal = self.db.with_name(self.db.name + "-journal")
        self.start_size = self.db.stat().st_size
        self.enough = grown

    def grown(self) -> int:
        """Bytes the file has grown by since the test began."""
        return self.db.stat().st_size - self.start_size

    def in_progress(self) -> bool:
        """Rows written but not committed: the rollback journal is still there."""
        return self.journal.exists() and self.grown() >= self.enough

    def still_open(self) -> bool:
        """The journal goes when the transaction commits (journal_mode DELETE)."""
        return self.journal.exists()

    def where(self) -> str:
        """Say how far the file has grown."""
        return f"SQLite file grown by {self.grown() / 2**20:.1f} MiB, journal present"

    def settled(self) -> bool:
        """SQLite has no server: nothing lingers."""
        return True


class PostgresWrite:
    """Watches PostgreSQL for the import's backend in an open write transaction."""

    def __init__(self, url: str, application: str, grown: int) -> None:
        found = re.search(r"search_path%3D(\w+)", url)
        assert found, url
        self.table = f'"{found.group(1)}".events'
        self.application = application
        self.enough = grown
        self.admin = make_engine(url)  # a session without the import's name

    def _open_writes(self) -> int:
        # The import's sessions in a transaction that has written something.
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
            "AND backend_xid IS NOT NULL "
            "AND state IN ('active', 'idle in transaction') "
            "AND query NOT ILIKE 'commit%'"
        )
        with self.admin.connect() as conn:
            return int(conn.execute(query, {"app": self.application}).scalar_one())

    def grown(self) -> int:
        """Bytes of the events heap, uncommitted rows included."""
        with self.admin.connect() as conn:
            size = conn.execute(
                sa.text("SELECT pg_relation_size(:t)"), {"t": self.table}
            )
            return int(size.scalar_one())

    def in_progress(self) -> bool:
        """The import's session writes and the heap has grown enough."""
        return self._open_writes() == 1 and self.grown() >= self.enough

    def still_open(self) -> bool:
        """The import's session still holds its open write transaction."""
        return self._open_writes() == 1

    def where(self) -> str:
        """Say how large the heap is."""
        return (
            f"PostgreSQL events heap at {self.grown() / 2**20:.1f} MiB, "
            "write transaction open"
        )

    def settled(self) -> bool:
        """The killed client's backend has gone (and rolled back)."""
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"
        )
        with self.admin.connect() as conn:
            return conn.execute(query, {"app": self.application}).scalar_one() == 0


def _bookkeeping(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(imports_table)).mappings().all()
    return [dict(r) for r in rows]


def _rejected(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(rejected_table)
        return int(conn.execute(query).scalar_one())


@pytest.mark.parametrize(("importer", "store", "log", "mib"), CASES)
def test_import_killed_mid_write_stores_none_and_a_rerun_stores_all(
    importer: str,
    store: str,
    log: str,
    mib: int,
    request: pytest.FixtureRequest,
    expected: Callable[[str, Path], Expected],
    uci_head: Path,
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue(store)
    postgres = url.startswith("postgresql")
    path = UCI_FILE if log == "whole" else uci_head
    # The import's own sessions carry a name of their own, to be found by.
    application = f"sw-import-kill-{uuid.uuid4().hex[:8]}"
    named = f"{url}&application_name={application}" if postgres else url
    want = expected(importer, path)
    engine = make_engine(url)
    create_schema(engine)
    argv = [sys.executable, "-m", "stallwatch.cli", "import", importer, str(path)]
    if importer == "mapped":
        (tmp_path / "uci.mapping.yaml").write_text(MAPPING)
        argv += ["--mapping", str(tmp_path / "uci.mapping.yaml")]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STALLWATCH_DATABASE_URL": named,
        "STALLWATCH_LOG_FORMAT": "json",
    }
    watch: WriteWatch = (
        PostgresWrite(url, application, mib << 20)
        if postgres
        else SqliteWrite(url, mib << 20)
    )

    # Kill it while its one transaction has written rows it has not committed.
    started = time.monotonic()
    killed_log = tmp_path / "killed.log"
    with killed_log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until(
            watch.in_progress,
            seconds=300,
            what="the import's write transaction to be under way",
            process=process,
            interval=0.01,
        )
        freeze(process)
        assert watch.still_open(), "the import committed before it was frozen"
        landed_bytes = watch.grown()
        landed = f"{watch.where()}, {time.monotonic() - started:.1f} s after start"
        kill_frozen(process)
    finally:
        reap(process)
    output = killed_log.read_text()
    wait_until(watch.settled, seconds=60, what="the killed session to end")
    print(f"\n{request.node.name}: killed mid-write: {landed}")

    # None of it: no event, no bookkeeping row, an intact file.
    assert "imported" not in output, output
    stored_after_kill = count_events(engine)
    assert stored_after_kill == 0, (
        f"{stored_after_kill} events stored after a kill mid-transaction ({landed})"
    )
    assert _bookkeeping(engine) == []
    assert store_version(engine) == 0
    assert _rejected(engine) == 0
    if isinstance(watch, SqliteWrite):
        with engine.connect() as conn:
            check = conn.execute(sa.text("PRAGMA integrity_check")).scalar_one()
        assert check == "ok"
        assert not watch.journal.exists(), "the hot journal was not rolled back"
        assert watch.grown() == 0, "the rollback left the killed write's pages"

    # The same import again, uninterrupted, stores every event exactly once.
    again = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr[-3000:]
    events = len(want.event_ids)
    line = f"{want.rows} rows, {want.tickets} tickets, {events} events ({events} new)"
    assert line in again.stdout, again.stdout
    stored = count_events(engine)
    # SQLite's rollback gave the file back its size; PostgreSQL keeps the dead rows.
    whole = watch.grown() - (landed_bytes if postgres else 0)
    print(
        f"{request.node.name}: the kill came after {landed_bytes / 2**20:.1f} MiB "
        f"of the {whole / 2**20:.1f} MiB a whole import writes; the re-run "
        f"stored {stored} of {events} expected events"
    )
    assert 0 < landed_bytes < whole, f"the kill came after {landed_bytes} of {whole}"
    assert stored == events, f"re-run stored {stored} events; expected {events}"
    assert _stored_ids(engine) == want.event_ids
    assert store_version(engine) == events
    (record,) = _bookkeeping(engine)
    assert record["rows_read"] == want.rows
    assert record["events_seen"] == record["events_written"] == events
    assert record["file_sha256"] == want.sha256
    if importer == "uci":
        with engine.connect() as conn:
            created = conn.execute(
                sa.select(sa.func.count())
                .select_from(events_table)
                .where(events_table.c.kind == "created")
            ).scalar_one()
        assert created == want.tickets
    engine.dispose()
    if isinstance(watch, PostgresWrite):
        watch.admin.dispose()
