"""The generic importer: a CRM's own export (CSV, JSON lines, JSON) plus a mapping.

Two passes over the file, a chunk at a time so memory stays bounded: the first
checks everything and reports every problem at once (file, line, column, value,
expected); the second yields canonical events for the caller to write in one
transaction. Nothing is written unless the whole file is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.events import EventKind, conform_events
from features.importers.common import width_problems
from features.importers.mapped_files import file_chunks
from features.importers.mapping import CLOSED_VALUES, ColumnMap, Mapping
from features.importers.problems import ImportProblem, ImportValidationError

Progress = Callable[[int], None]


@dataclass
class _Seen:
    """What pass one remembers across chunks: ids and each ticket's creation."""

    ids: dict[str, int] = field(default_factory=dict)
    created: dict[str, tuple[pd.Timestamp, int]] = field(default_factory=dict)
    earliest: dict[str, tuple[pd.Timestamp, int]] = field(default_factory=dict)
    rows: int = 0


def _values(
    rows: pd.DataFrame, name: str, source: ColumnMap, lines: np.ndarray, file: str
) -> tuple[pd.Series, list[ImportProblem]]:
    """Return one canonical column and the problems found in it."""
    if source.constant is not None:
        return pd.Series(source.constant, index=rows.index, dtype="object"), []
    assert source.column is not None
    raw = rows[source.column].astype("object")
    raw = raw.where(raw.notna() & (raw != ""), None)
    mapped = raw.map(source.values).where(raw.notna(), None) if source.values else raw
    allowed = CLOSED_VALUES.get(name)
    has_nul = raw.astype(str).str.contains("\x00", regex=False) & raw.notna()
    problems: list[ImportProblem] = [
        ImportProblem(
            file, int(lines[i]), source.column, str(raw.iloc[i]), "text without NUL"
        )
        for i in np.flatnonzero(has_nul.to_numpy())
    ]
    if allowed is not None:
        bad = raw.notna() & ~mapped.isin(list(allowed))
        expected = (
            "one of " + ", ".join(sorted(source.values))
            if source.values
            else "one of " + ", ".join(sorted(allowed))
        )
        problems += [
            ImportProblem(
                file, int(lines[i]), source.column, str(raw.iloc[i]), expected
            )
            for i in np.flatnonzero((bad & ~has_nul).to_numpy())
        ]
    return mapped, problems


def _frame(
    rows: pd.DataFrame, first_line: int, mapping: Mapping, file: str
) -> tuple[pd.DataFrame, list[ImportProblem]]:
    """Turn one chunk into canonical events, collecting its problems."""
    if mapping.format != "csv":
        lines = rows.index.to_numpy(dtype="int64")
    else:
        lines = np.arange(first_line, first_line + len(rows))
    problems: list[ImportProblem] = []
    wanted = [c.column for c in mapping.columns().values() if c.column is not None]
    if mapping.format != "csv":
        # JSON objects may leave out optional keys; those read as empty.
        required = {mapping.ticket_id.column, mapping.kind.column}
        rows = rows.reindex(
            columns=[*rows.columns, *(c for c in wanted if c not in rows.columns)]
        )
        wanted = [c for c in wanted if c in required]
    wanted.append(mapping.occurred_at.column)
    missing = [column for column in wanted if column not in rows.columns]
    if missing:
        found = ", ".join(map(str, rows.columns[:30]))
        raise ImportValidationError(
            [
                ImportProblem(file, 1, column, None, f"a column {column!r} ({found})")
                for column in dict.fromkeys(missing)
            ]
        )

    out = pd.DataFrame(index=rows.index)
    for name, source in mapping.columns().items():
        out[name], found_problems = _values(rows, name, source, lines, file)
        problems += found_problems

    # Times: a format or ISO 8601; wall-clock times are read in the zone given.
    when = mapping.occurred_at
    raw = rows[when.column].astype("object").where(rows[when.column].notna(), "")
    out["occurred_at"], far = _instants(raw, when.format, when.timezone)
    expected = f"a time like {when.format}" if when.format else "an ISO 8601 time"
    bad_time = out["occurred_at"].isna().to_numpy() & ~far
    problems += [
        ImportProblem(file, int(lines[i]), when.column, str(raw.iloc[i]), expected)
        for i in np.flatnonzero(bad_time)
    ]
    years = out["occurred_at"].dt.year
    out_of_range = far | ((~bad_time) & ~years.between(1970, 2199).to_numpy())
    problems += [
        ImportProblem(
            file,
            int(lines[i]),
            when.column,
            str(raw.iloc[i]),
            "a year from 1970 to 2199",
        )
        for i in np.flatnonzero(out_of_range)
    ]
    # Empty required fields: the store keeps no event without them.
    needed = {"ticket_id": "a ticket id", "kind": "an event kind"}
    if mapping.event_id is not None:
        needed["event_id"] = "an event id"
    for name, what in needed.items():
        source = mapping.columns()[name]
        missing = out[name].isna().to_numpy()
        if name in CLOSED_VALUES and source.column is not None:
            # A value outside the value map was reported above already.
            given = rows[source.column]
            missing = missing & (given.isna() | given.astype(str).eq("")).to_numpy()
        problems += [
            ImportProblem(file, int(lines[i]), source.column, "", what)
            for i in np.flatnonzero(missing)
        ]

    out["source"] = mapping.source
    out["seq"] = lines
    if mapping.event_id is None:
        out["event_id"] = (
            mapping.source
            + ":"
            + out["ticket_id"].astype(str)
            + ":"
            + lines.astype(str)
        )
    else:
        out["event_id"] = mapping.source + ":" + out["event_id"].astype(str)
    out["line"] = lines
    sources = {name: source.column for name, source in mapping.columns().items()}
    problems += width_problems(out, file, lines=lines, columns=sources)
    return out, problems


_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"


def _instants(
    raw: pd.Series, fmt: str | None, zone: str
) -> tuple[pd.Series, np.ndarray]:
    """Parse times to UTC: offsets are kept, wall-clock times read in ``zone``.

    A wall-clock time in a DST gap moves forward; a repeated one reads as
    standard time. Unparsable values become NaT.

    Returns
    -------
    instants : Series
        UTC instants; NaT where unparsable or far out of range.
    far : ndarray of bool
        Readable times far outside the years 1970 to 2199 (the year 9999
        overflows the nanosecond instants), also NaT in ``instants``.
    """
    text = raw.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET, regex=True).to_numpy()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    far = np.zeros(len(raw), dtype=bool)

    def readable(parsed: pd.Series, where: np.ndarray) -> pd.Series:
        # A day of margin on each side keeps every zone's shift in range.
        outside = parsed.notna() & ~parsed.dt.year.between(1969, 2200)
        far[where] = outside.to_numpy()
        return parsed.mask(outside)

    if has_offset.any():
        aware = pd.to_datetime(
            text[has_offset], format=fmt or "ISO8601", errors="coerce", utc=True
        )
        aware = readable(aware, has_offset)
        out[has_offset] = aware.astype("datetime64[ns, UTC]")
    if (~has_offset).any():
        naive = pd.to_datetime(
            text[~has_offset], format=fmt or "ISO8601", errors="coerce"
        )
        local = readable(naive, ~has_offset).dt.tz_localize(
            zone,
            nonexistent="shift_forward",
            ambiguous=np.zeros(len(naive), dtype=bool),
        )
        out[~has_offset] = local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return out, far


def _remember(
    events: pd.DataFrame, seen: _Seen, file: str, column: str | None
) -> list[ImportProblem]:
    """Check ids across chunks and note each ticket's creation."""
    problems = []
    for event_id, line in zip(events["event_id"], events["line"], strict=True):
        first = seen.ids.setdefault(event_id, int(line))
        if first != line:
            problems.append(
                ImportProblem(
                    file, int(line), column, event_id, f"a unique id (line {first})"
                )
            )
    valid = events.dropna(subset=["occurred_at", "ticket_id"])
    for ticket, at, kind, line in zip(
        valid["ticket_id"],
        valid["occurred_at"],
        valid["kind"],
        valid["line"],
        strict=True,
    ):
        if kind == EventKind.CREATED:
            seen.created.setdefault(ticket, (at, int(line)))
        elif ticket not in seen.earliest or at < seen.earliest[ticket][0]:
            seen.earliest[ticket] = (at, int(line))
    return problems


def check_mapped(
    path: Path, mapping: Mapping, *, progress: Progress | None = None
) -> int:
    """Pass one: check the whole file; return its row count or raise.

    Raises
    ------
    ImportValidationError
        Listing every problem: unparsable times, unknown values, missing ticket
        ids, duplicate event ids, events before their ticket's creation, a
        wrong separator, encoding or a byte-order mark it cannot read.
    """
    file = str(path)
    seen = _Seen()
    problems: list[ImportProblem] = []
    id_column = mapping.event_id.column if mapping.event_id else None
    for first_line, rows in file_chunks(path, mapping, problems):
        events, found = _frame(rows, first_line, mapping, file)
        problems += found + _remember(events, seen, file, id_column)
        seen.rows += len(rows)
        if progress is not None:
            progress(len(rows))
    for ticket, (at, line) in seen.earliest.items():
        created = seen.created.get(ticket)
        if created is not None and at < created[0]:
            problems.append(
                ImportProblem(
                    file,
                    line,
                    mapping.occurred_at.column,
                    f"{at.isoformat()} (UTC)",
                    f"a time at or after the ticket's creation (line {created[1]})",
                )
            )
    if seen.rows == 0:
        problems.append(ImportProblem(file, 2, None, None, "at least one event"))
    if problems:
        raise ImportValidationError(sorted(problems, key=lambda p: p.line or 0))
    return seen.rows


def mapped_events(path: Path, mapping: Mapping) -> Iterator[pd.DataFrame]:
    """Pass two: yield canonical events chunk by chunk (after check_mapped)."""
    for first_line, rows in file_chunks(path, mapping):
        events, _ = _frame(rows, first_line, mapping, str(path))
        yield conform_events(events.drop(columns="line"))
