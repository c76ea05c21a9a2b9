"""The generic importer: a CRM's own export (CSV, JSON lines, JSON) plus a mapping.

Two passes over the file, a chunk at a time so memory stays bounded: the first
checks everything and reports every problem at once (file, line, column, value,
expected); the second yields canonical events for the caller to write in one
transaction. Nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.events import EventKind, conform_events
from features.importers.mapping import CLOSED_VALUES, ColumnMap, Mapping
from features.importers.problems import ImportProblem, ImportValidationError

CHUNK_ROWS = 50_000
Progress = Callable[[int], None]


@dataclass
class _Seen:
    """What pass one remembers across chunks: ids and each ticket's creation."""

    ids: dict[str, int] = field(default_factory=dict)
    created: dict[str, tuple[pd.Timestamp, int]] = field(default_factory=dict)
    earliest: dict[str, tuple[pd.Timestamp, int]] = field(default_factory=dict)
    rows: int = 0


def _bad_bytes(path: Path, encoding: str) -> tuple[int, int, str]:
    """Return line, byte column and reason of the first undecodable line."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, exc.start + 1, exc.reason
    return 0, 0, "unknown"


def _chunks(
    path: Path, mapping: Mapping, problems: list[ImportProblem] | None = None
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield (first line number, rows as strings) chunks of the source file.

    Lines of a JSON-lines file that are not JSON objects are added to
    ``problems`` (and skipped) instead of ending the read.
    """
    file = str(path)
    if mapping.format == "csv":
        encoding = mapping.csv.encoding
        encoding = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
        try:
            reader = pd.read_csv(
                path,
                sep=mapping.csv.separator,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                chunksize=CHUNK_ROWS,
            )
            line = 2
            for chunk in reader:
                yield line, chunk
                line += len(chunk)
        except UnicodeDecodeError as exc:
            number, column, reason = _bad_bytes(path, encoding)
            declared = mapping.csv.encoding
            raise ImportValidationError(
                [
                    ImportProblem(
                        file,
                        number,
                        None,
                        None,
                        f"text in {declared}, as the mapping declares "
                        f"(byte {column} of the line: {reason})",
                    )
                ]
            ) from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            reason = " ".join(str(exc).split())
            raise ImportValidationError(
                [ImportProblem(file, None, None, None, f"CSV rows ({reason})")]
            ) from exc
        return

    if mapping.format == "jsonl":
        batch: list[dict[str, object]] = []
        numbers: list[int] = []
        with path.open(encoding="utf-8-sig") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    item = json.loads(text)
                except json.JSONDecodeError as exc:
                    item, reason = None, f"a JSON object ({exc.msg})"
                else:
                    reason = "a JSON object"
                if not isinstance(item, dict):
                    if problems is not None:
                        problems.append(
                            ImportProblem(file, number, None, text.strip()[:80], reason)
                        )
                    continue
                batch.append(item)
                numbers.append(number)
                if len(batch) >= CHUNK_ROWS:
                    yield numbers[0], _lines_frame(batch, numbers)
                    batch, numbers = [], []
        if batch:
            yield numbers[0], _lines_frame(batch, numbers)
        return

    try:
        items = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, f"a JSON array ({exc})")]
        ) from exc
    if not isinstance(items, list):
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, "a JSON array of event objects")]
        )
    yield 1, pd.DataFrame(items, dtype=str)


def _lines_frame(items: list[dict[str, object]], numbers: list[int]) -> pd.DataFrame:
    """Rows of a JSON-lines chunk, as strings, indexed by their line numbers."""
    frame = pd.DataFrame(items).astype("object")
    frame = frame.where(frame.isna(), frame.astype(str))
    frame.index = pd.Index(numbers)
    return frame


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
            file, int(lines[i]), source.column, repr(raw.iloc[i]), "text without NUL"
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
        problems = [
            ImportProblem(
                file, int(lines[i]), source.column, str(raw.iloc[i]), expected
            )
            for i in np.flatnonzero(bad.to_numpy())
        ]
    return mapped, problems


def _frame(
    rows: pd.DataFrame, first_line: int, mapping: Mapping, file: str
) -> tuple[pd.DataFrame, list[ImportProblem]]:
    """Turn one chunk into canonical events, collecting its problems."""
    if mapping.format == "jsonl":
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
    out["occurred_at"] = _instants(raw, when.format, when.timezone)
    expected = f"a time like {when.format}" if when.format else "an ISO 8601 time"
    bad_time = out["occurred_at"].isna().to_numpy()
    problems += [
        ImportProblem(file, int(lines[i]), when.column, str(raw.iloc[i]), expected)
        for i in np.flatnonzero(bad_time)
    ]
    years = out["occurred_at"].dt.year
    out_of_range = (~bad_time) & ~years.between(1970, 2199).to_numpy()
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
    problems += [
        ImportProblem(file, int(lines[i]), mapping.ticket_id.column, "", "a ticket id")
        for i in np.flatnonzero(out["ticket_id"].isna().to_numpy())
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
    return out, problems


_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"


def _instants(raw: pd.Series, fmt: str | None, zone: str) -> pd.Series:
    """Parse times to UTC: offsets are kept, wall-clock times read in ``zone``.

    A wall-clock time in a DST gap moves forward; a repeated one reads as
    standard time. Unparsable values become NaT.
    """
    text = raw.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET, regex=True).to_numpy()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if has_offset.any():
        aware = pd.to_datetime(
            text[has_offset], format=fmt or "ISO8601", errors="coerce", utc=True
        )
        out[has_offset] = aware.astype("datetime64[ns, UTC]")
    if (~has_offset).any():
        naive = pd.to_datetime(
            text[~has_offset], format=fmt or "ISO8601", errors="coerce"
        )
        local = naive.dt.tz_localize(
            zone,
            nonexistent="shift_forward",
            ambiguous=np.zeros(len(naive), dtype=bool),
        )
        out[~has_offset] = local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return out


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
    for first_line, rows in _chunks(path, mapping, problems):
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
    for first_line, rows in _chunks(path, mapping):
        events, _ = _frame(rows, first_line, mapping, str(path))
        yield conform_events(events.drop(columns="line"))
