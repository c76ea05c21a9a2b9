"""Benchmark: importing the real UCI log into SQLite and PostgreSQL.

Times the whole import as ``stallwatch import uci`` runs it (read, validate,
map to canonical events, write in one transaction) into an empty store, and
reports events per second.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from features.store import make_engine
from stallwatch.cli import BUNDLED_UCI
from stallwatch.importing import import_builtin

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _sqlite_store(folder: Path) -> str:
    return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"


def _postgres_store() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with sa.create_engine(POSTGRES).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    return f"{POSTGRES}?options=-csearch_path%3D{schema}", schema


def run(*, repeat: int) -> list[str]:
    """Import the log ``repeat`` times per store kind; return the report's lines."""
    rows = ["## Importing the UCI log", "", "| store | events | median | rate |"]
    rows.append("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("SQLite file", "PostgreSQL 127.0.0.1"):
            times, events = [], 0
            for _ in range(repeat):
                schema = None
                if kind.startswith("SQLite"):
                    url = _sqlite_store(Path(folder))
                else:
                    url, schema = _postgres_store()
                started = time.perf_counter()
                summary = import_builtin(
                    make_engine(url), "uci", BUNDLED_UCI, source_timezone=None
                )
                times.append(time.perf_counter() - started)
                events = summary.written
                if schema is not None:
                    with sa.create_engine(POSTGRES).begin() as conn:
                        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            median = statistics.median(times)
            rows.append(
                f"| {kind} | {events:,} | {median:.1f} s "
                f"(min {min(times):.1f}, max {max(times):.1f}, {repeat} runs) "
                f"| {events / median:,.0f} events/s |"
            )
    return [*rows, ""]
