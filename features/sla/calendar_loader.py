"""Read business calendars from plain data (dict, YAML or JSON) with validation.

A calendar document looks like::

    name: berlin-desk            # optional
    version: "2025-04"           # optional; a content hash is used when absent
    timezone: Europe/Berlin
    week:                        # or the string "24/7"
      mon: [["09:00", "12:30"], ["13:30", "17:00"]]
      sat: []
    holidays: ["2025-12-24"]     # optional local dates, closed all day
    public_holidays: {country: DE, subdiv: BY}   # optional

Times must be quoted strings: unquoted ``17:00`` is a number in YAML 1.1.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from features.sla.calendar import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    BusinessCalendar,
    OpenSpan,
    PublicHolidays,
)
from features.sla.validation import (
    MISSING,
    IssueCollector,
    check_unknown_keys,
    read_mapping_file,
)
from features.zones import find_zone

_TIME = re.compile(r"^(\d{2}):(\d{2})$")
_TIME_EXPECTED = "a quoted time string 'HH:MM' from '00:00' to '24:00'"
_FIELDS = {"name", "version", "timezone", "week", "holidays", "public_holidays"}
ROUND_THE_CLOCK = "24/7"


def parse_clock_time(text: Any) -> int | None:
    """Return minutes after midnight for ``"HH:MM"`` (``"24:00"`` is 1440), or None."""
    if not isinstance(text, str):
        return None
    match = _TIME.match(text)
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        return None
    return hours * 60 + minutes


def _read_spans(day: str, raw: Any, out: IssueCollector, prefix: str) -> list[OpenSpan]:
    field = f"{prefix}week.{day}"
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.add(field, "a list of [start, end] spans (empty when closed)", raw)
        return []

    spans: list[OpenSpan] = []
    for i, pair in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            out.add(where, "a pair [start, end] of 'HH:MM' times", pair)
            continue
        start, end = parse_clock_time(pair[0]), parse_clock_time(pair[1])
        if start is None or start == MINUTES_PER_DAY:
            out.add(
                f"{where}[0]", _TIME_EXPECTED.replace("'24:00'", "'23:59'"), pair[0]
            )
        if end is None:
            out.add(f"{where}[1]", _TIME_EXPECTED, pair[1])
        if start is None or end is None or start == MINUTES_PER_DAY:
            continue
        if end <= start:
            out.add(where, "a span whose end is after its start", pair)
            continue
        spans.append(OpenSpan(start, end))

    # Spans of one day may touch but not overlap.
    ordered = sorted(spans, key=lambda s: s.start_minute)
    for before, after in itertools.pairwise(ordered):
        if after.start_minute < before.end_minute:
            out.add(field, "spans that do not overlap", raw)
            break
    return ordered


def _read_week(raw: Any, out: IssueCollector, prefix: str) -> dict[int, list[OpenSpan]]:
    if raw == ROUND_THE_CLOCK:
        return {day: [OpenSpan(0, MINUTES_PER_DAY)] for day in range(7)}
    if not isinstance(raw, Mapping):
        out.add(f"{prefix}week", "a mapping mon..sun -> spans, or '24/7'", raw)
        return {}
    check_unknown_keys(raw, set(WEEKDAYS), prefix=f"{prefix}week.", out=out)
    week = {
        index: _read_spans(day, raw.get(day), out, prefix)
        for index, day in enumerate(WEEKDAYS)
    }
    if not any(week.values()) and not out.issues:
        out.add(f"{prefix}week", "at least one opening span in the week", raw)
    return week


def _read_holidays(raw: Any, out: IssueCollector, prefix: str) -> list[date]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.add(f"{prefix}holidays", "a list of local dates 'YYYY-MM-DD'", raw)
        return []
    days: list[date] = []
    for i, item in enumerate(raw):
        if isinstance(item, date):
            days.append(item)
            continue
        try:
            days.append(date.fromisoformat(item))
        except (TypeError, ValueError):
            out.add(f"{prefix}holidays[{i}]", "a local date 'YYYY-MM-DD'", item)
    return days


def _read_public(raw: Any, out: IssueCollector, prefix: str) -> PublicHolidays | None:
    field = f"{prefix}public_holidays"
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("country"), str):
        out.add(field, "a mapping {country: 'DE', subdiv: 'BY'} (subdiv optional)", raw)
        return None
    check_unknown_keys(raw, {"country", "subdiv"}, prefix=f"{field}.", out=out)
    subdiv = raw.get("subdiv")
    if subdiv is not None and not isinstance(subdiv, str):
        out.add(f"{field}.subdiv", "a subdivision code string such as 'BY'", subdiv)
        return None
    public = PublicHolidays(raw["country"], subdiv)
    try:
        public.dates([2000])
    except NotImplementedError as exc:
        out.add(field, f"a country/subdivision known to 'holidays' ({exc})", raw)
        return None
    return public


def content_version(data: Mapping[str, Any]) -> str:
    """Return a short stable hash of a calendar document, used as its version."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_calendar(
    data: Mapping[str, Any], *, source: str = "calendar", prefix: str = ""
) -> BusinessCalendar:
    """Build a :class:`BusinessCalendar` from a calendar document.

    Parameters
    ----------
    data : mapping
        The document (see the module docstring).
    source : str
        Name of the document used in error messages, e.g. a file path.
    prefix : str
        Prefix for field paths in error messages, e.g. ``"calendar."``.

    Raises
    ------
    SlaConfigError
        Listing every bad field with what was expected.
    """
    out = IssueCollector(source)
    out.require_mapping(data, prefix=prefix, expected="a mapping")
    check_unknown_keys(data, _FIELDS, prefix=prefix, out=out)

    # Zone first: every other field is read in it.
    timezone = data.get("timezone", MISSING)
    if find_zone(timezone) is None:
        out.add(
            f"{prefix}timezone", "an IANA zone name such as 'Europe/Berlin'", timezone
        )

    week = _read_week(data.get("week", MISSING), out, prefix)
    days = _read_holidays(data.get("holidays"), out, prefix)
    public = _read_public(data.get("public_holidays"), out, prefix)
    for key in ("name", "version"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            out.add(f"{prefix}{key}", "a string", value)
    out.raise_if_any()

    version = data.get("version") or content_version(data)
    return BusinessCalendar(
        timezone=timezone,
        week=week,
        holidays=days,
        public_holidays=public,
        version=version,
        name=data.get("name"),
    )


def load_calendar_file(path: str | Path) -> BusinessCalendar:
    """Read a calendar from a YAML or JSON file (see :func:`load_calendar`)."""
    data = read_mapping_file(path, what="calendar")
    return load_calendar(data, source=f"calendar file {path}")
