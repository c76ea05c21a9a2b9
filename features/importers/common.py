"""Helpers shared by the Helpdesk, BPI 2013 and Boston 311 importers.

Each helper either reads and checks part of a source file, collecting
:class:`~features.importers.problems.ImportProblem` items so a file is refused
with every problem at once, or builds a piece of the canonical event frame.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features.events import conform_events
from features.importers.problems import ImportProblem, ImportValidationError
from features.store import events_table
from features.zones import find_zone

#: Physical line of the first data row: line 1 is the header.
FIRST_DATA_LINE = 2
#: Years an event time may fall in: the store keeps nanosecond instants
#: (1677 to 2262), and a year outside these is a typing error in a ticket log.
FIRST_YEAR, LAST_YEAR = 1970, 2199
#: Most characters each text column of the store holds (``topic`` is unbounded).
TEXT_WIDTHS: dict[str, int] = {
    column.name: int(length)
    for column in events_table.columns
    if (length := getattr(column.type, "length", None))
}


@dataclass(frozen=True)
class LogImport:
    """Canonical events from one source file, with what was read.

    Attributes
    ----------
    events : DataFrame
        Canonical events (see :data:`features.events.EVENT_COLUMNS`).
    rows_read : int
        Data rows in the file, before any de-duplication.
    tickets : int
        Distinct tickets in the events.
    duplicates_dropped : int
        Rows dropped as exact copies of an earlier row.
    """

    events: pd.DataFrame
    rows_read: int
    tickets: int
    duplicates_dropped: int = 0


def resolve_zone(name: str, file: str) -> ZoneInfo:
    """Return the IANA zone ``name`` or refuse the import naming it."""
    zone = find_zone(name)
    if zone is None:
        problem = ImportProblem(file, None, None, name, "an IANA time zone such as UTC")
        raise ImportValidationError([problem])
    return zone


def read_rows(path: Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV file (plain or gzip) as text, refusing unreadable files.

    Parameters
    ----------
    path : Path
        The file; ``.gz`` files are decompressed.
    encoding : str
        Text encoding; ``utf-8-sig`` also strips a byte-order mark.

    Returns
    -------
    DataFrame
        Every field as a string, empty fields as ``""``, header names stripped;
        a repeated header name gets pandas' ``.1`` suffix. A ``line`` column
        holds each row's physical line number.
    """
    file = str(path)
    try:
        rows = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            on_bad_lines="error",
        )
    except UnicodeDecodeError as exc:
        expected = f"{encoding} text (decoding failed: {exc.reason})"
        raise ImportValidationError(
            [ImportProblem(file, None, None, None, expected)]
        ) from exc
    except pd.errors.EmptyDataError as exc:
        problem = ImportProblem(file, 1, None, "", "a CSV header and rows")
        raise ImportValidationError([problem]) from exc
    except pd.errors.ParserError as exc:
        reason = " ".join(str(exc).split())
        problem = ImportProblem(file, None, None, None, f"CSV rows ({reason})")
        raise ImportValidationError([problem]) from exc
    except (OSError, EOFError) as exc:
        problem = ImportProblem(
            file, None, None, None, f"a readable CSV or gzip file ({exc})"
        )
        raise ImportValidationError([problem]) from exc
    rows.columns = [str(c).lstrip("\ufeff").strip() for c in rows.columns]
    # None of the three logs quotes a line break, so row n sits on line n + 2.
    rows["line"] = np.arange(len(rows), dtype="int64") + FIRST_DATA_LINE
    _refuse_nul(rows, file)
    return rows


def _refuse_nul(rows: pd.DataFrame, file: str) -> None:
    # PostgreSQL text cannot hold NUL: refuse such a field here, on any store.
    problems: list[ImportProblem] = []
    for column in rows.columns.drop("line"):
        nul = rows[column].str.contains("\x00", regex=False, na=False)
        if nul.any():
            problems += _problems_at(
                rows, nul, column, file, "text without NUL characters"
            )
    refuse_if_any(problems)


def check_columns(rows: pd.DataFrame, required: Iterable[str], file: str) -> None:
    """Refuse a file whose header lacks a required column, or with no rows."""
    missing = [c for c in required if c not in rows.columns]
    if missing:
        found = ", ".join(str(c) for c in rows.columns[:6] if c != "line")
        raise ImportValidationError(
            [
                ImportProblem(
                    file,
                    1,
                    column,
                    None,
                    f"a header with column {column!r} (comma-separated; found {found})",
                )
                for column in missing
            ]
        )
    if rows.empty:
        raise ImportValidationError(
            [ImportProblem(file, FIRST_DATA_LINE, None, None, "at least one data row")]
        )


def _problems_at(
    rows: pd.DataFrame, bad: pd.Series, column: str, file: str, expected: str
) -> list[ImportProblem]:
    lines = rows["line"].to_numpy()
    values = rows[column].to_numpy()
    return [
        ImportProblem(file, int(lines[i]), column, str(values[i]), expected)
        for i in np.flatnonzero(bad.to_numpy())
    ]


def parse_times(
    rows: pd.DataFrame,
    column: str,
    *,
    fmt: str,
    expected: str,
    file: str,
    problems: list[ImportProblem],
    allow_empty: bool = False,
) -> pd.Series:
    """Parse a time column, adding a problem for every unreadable value.

    Parameters
    ----------
    fmt : str
        ``strptime`` format; with ``%z`` the result is in UTC.
    expected : str
        How the format reads to a person, for the problem message.
    allow_empty : bool
        Whether an empty field is a missing time rather than a problem.

    Returns
    -------
    Series
        Parsed times; NaT where empty or unreadable.
    """
    raw = rows[column]
    utc = "%z" in fmt
    parsed = pd.to_datetime(raw, format=fmt, errors="coerce", utc=utc)
    bad = parsed.isna() & ~(raw.eq("") & allow_empty)
    problems += _problems_at(rows, bad, column, file, expected)
    # A readable time in year 9999 would overflow the store's instants.
    far = parsed.notna() & ~parsed.dt.year.between(FIRST_YEAR, LAST_YEAR)
    problems += _problems_at(
        rows, far, column, file, f"{expected} in the years {FIRST_YEAR}-{LAST_YEAR}"
    )
    return parsed.mask(far)


def check_values(
    rows: pd.DataFrame, column: str, allowed: Collection[str], file: str
) -> list[ImportProblem]:
    """Return a problem for every value of ``column`` outside ``allowed``."""
    bad = ~rows[column].isin(list(allowed))
    expected = "one of " + ", ".join(repr(a) for a in sorted(allowed))
    return _problems_at(rows, bad, column, file, expected)


def check_filled(
    rows: pd.DataFrame, columns: Iterable[str], file: str
) -> list[ImportProblem]:
    """Return a problem for every empty field in ``columns``."""
    problems: list[ImportProblem] = []
    for column in columns:
        problems += _problems_at(
            rows, rows[column].eq(""), column, file, "a non-empty value"
        )
    return problems


def refuse_if_any(problems: list[ImportProblem]) -> None:
    """Raise one error listing every problem, ordered by line."""
    if problems:
        raise ImportValidationError(
            sorted(problems, key=lambda p: (p.line or 0, p.column or ""))
        )


def width_problems(
    events: pd.DataFrame,
    file: str,
    *,
    lines: np.ndarray | None = None,
    columns: dict[str, str | None] | None = None,
) -> list[ImportProblem]:
    """Return a problem for every text too long for its column of the store.

    PostgreSQL refuses such a text when it is written; SQLite would keep it,
    so both stores refuse it here, before anything is written.

    Parameters
    ----------
    events : DataFrame
        Canonical event columns, one row per event.
    lines : ndarray of int, optional
        The source line of each row, when known.
    columns : dict, optional
        Canonical field -> the source column it came from, for the message.
    """
    problems: list[ImportProblem] = []
    for name, width in TEXT_WIDTHS.items():
        if name not in events.columns:
            continue
        length = events[name].astype("string").str.len()
        for i in np.flatnonzero(length.gt(width).fillna(False).to_numpy()):
            value = str(events[name].iloc[i])
            problems.append(
                ImportProblem(
                    file,
                    None if lines is None else int(lines[i]),
                    (columns or {}).get(name) or name,
                    value[:60] + "...",
                    f"at most {width} characters for {name} ({len(value)} given)",
                )
            )
    return problems


def to_utc(local: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Read naive wall-clock times in ``zone`` and return them in UTC.

    Times in a spring-forward gap move forward to the first valid instant;
    times repeated in the autumn fall-back hour read as standard time.
    """
    return local.dt.tz_localize(
        zone.key,
        nonexistent="shift_forward",
        ambiguous=np.zeros(len(local), dtype=bool),
    ).dt.tz_convert("UTC")


def blank_to_na(values: pd.Series) -> pd.Series:
    """Return the values with empty strings as missing."""
    return values.mask(values.eq(""))


def finish_events(events: pd.DataFrame, source: str) -> pd.DataFrame:
    """Add ``source``, ``seq`` and a stable ``event_id``, then conform the frame.

    Parameters
    ----------
    events : DataFrame
        Event rows with the source ``line`` they come from, an ``order`` within
        that line (0 to 15) and a ``tag`` naming what the row was in the source.

    Returns
    -------
    DataFrame
        Canonical events. The id is ``source:ticket:line:tag``, the same on
        every import of the same file, so re-importing adds nothing.
    """
    events = events.copy()
    events["source"] = source
    events["seq"] = events["line"].astype("int64") * 16 + events["order"]
    events["event_id"] = (
        source
        + ":"
        + events["ticket_id"].astype(str)
        + ":"
        + events["line"].astype(str)
        + ":"
        + events["tag"].astype(str)
    )
    return conform_events(events)
