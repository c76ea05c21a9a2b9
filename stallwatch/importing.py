"""The work behind ``stallwatch import``: validate a file, then write it whole."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from features.importers.common import refuse_if_any, width_problems
from features.importers.problems import file_sha256
from features.store import (
    create_schema,
    differing_events,
    imports_table,
    insert_events,
    write_events,
)

#: Built-in sources: (module, loader function).
LOADERS = {
    "uci": ("features.importers.uci", "load_uci"),
    "helpdesk": ("features.importers.helpdesk", "load_helpdesk"),
    "bpi2013": ("features.importers.bpi2013", "load_bpi2013"),
    "boston311": ("features.importers.boston311", "load_boston311"),
}
SOURCES = (*LOADERS, "mapped")


@dataclass(frozen=True)
class ImportSummary:
    """What an import read and wrote."""

    rows: int
    tickets: int
    events: int
    written: int
    seconds: float
    changed: int = 0

    def describe(self, name: str) -> str:
        """One line for the terminal."""
        changed = (
            f"; {self.changed} already stored with other content, kept as stored"
            if self.changed
            else ""
        )
        return (
            f"imported {name}: {self.rows} rows, {self.tickets} tickets, "
            f"{self.events} events ({self.written} new{changed}) "
            f"in {self.seconds:.1f} s"
        )


def import_builtin(
    engine: Engine, source: str, path: Path, *, source_timezone: str | None
) -> ImportSummary:
    """Import a file of a built-in source format; raise ImportValidationError."""
    started = time.perf_counter()
    module, name = LOADERS[source]
    loader: Callable[..., Any] = getattr(importlib.import_module(module), name)
    options = {}
    if source_timezone and "source_timezone" in inspect.signature(loader).parameters:
        options["source_timezone"] = source_timezone
    loaded = loader(path, **options)
    refuse_if_any(width_problems(loaded.events, str(path)))
    create_schema(engine)
    written = write_events(
        engine,
        loaded.events,
        import_record={
            "source": source,
            "file_name": path.name,
            "file_sha256": file_sha256(path),
            "rows_read": loaded.rows_read,
            "events_seen": len(loaded.events),
        },
    )
    return ImportSummary(
        rows=loaded.rows_read,
        tickets=int(loaded.tickets),
        events=len(loaded.events),
        written=written,
        seconds=time.perf_counter() - started,
    )


def import_mapped(
    engine: Engine,
    path: Path,
    mapping_path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import a CRM export with its mapping: check all of it, then write it all."""
    from datetime import UTC, datetime

    from features.importers.mapped import check_mapped, mapped_events
    from features.importers.mapping import load_mapping

    started = time.perf_counter()
    mapping = load_mapping(mapping_path)
    rows = check_mapped(path, mapping, progress=progress)
    create_schema(engine)
    written = events = changed = 0
    tickets: set[str] = set()
    with engine.begin() as conn:
        for chunk in mapped_events(path, mapping):
            fresh = insert_events(conn, chunk)
            resent = chunk[~chunk["event_id"].isin(fresh)]
            changed += len(differing_events(conn, resent))
            written += len(fresh)
            events += len(chunk)
            tickets.update(chunk["ticket_id"].unique())
        conn.execute(
            imports_table.insert(),
            {
                "source": mapping.source,
                "file_name": path.name,
                "file_sha256": file_sha256(path),
                "rows_read": rows,
                "events_seen": events,
                "events_written": written,
                "finished_at": datetime.now(UTC),
            },
        )
    return ImportSummary(
        rows=rows,
        tickets=len(tickets),
        events=events,
        written=written,
        seconds=time.perf_counter() - started,
        changed=changed,
    )
