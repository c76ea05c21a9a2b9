"""Words for reasons: counts, durations and shares as a support manager reads them.

Wall-clock durations read as minutes, hours or days; business-time durations
(SLA clocks, in business minutes) read as business minutes or business hours,
because a business day has no fixed length across calendars.
"""

from __future__ import annotations

import math
from typing import Any

WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def number(value: Any) -> float:
    """Return ``value`` as a float, NaN when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def as_text(value: Any) -> str | None:
    """Return a categorical value as text, None when it is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    shown = str(value)
    return None if shown in ("", "<NA>", "nan", "None") else shown


def word(n: float) -> str:
    """Say a count in words up to nine, in digits above: 'two', '12'."""
    whole = 0 if math.isnan(n) else round(n)
    return WORDS[whole] if 0 <= whole < len(WORDS) else str(whole)


def count(n: float, noun: str, plural: str | None = None) -> str:
    """Say a count with its noun: 'one team', 'two hand-offs', '12 updates'."""
    one = not math.isnan(n) and round(n) == 1
    return f"{word(n)} {noun if one else plural or noun + 's'}"


def times(n: float) -> str:
    """Say how often: 'once', 'twice', 'three times'."""
    whole = round(n)
    return {1: "once", 2: "twice"}.get(whole, count(whole, "time"))


def wall(hours: float) -> str:
    """Say a wall-clock duration given in hours."""
    if math.isnan(hours):
        return "an unknown time"
    if hours < 1:
        return _amount(max(1, round(hours * 60)), "minute")
    if hours < 48:
        return _amount(round(hours), "hour")
    days = round(hours / 24, 1)
    return _amount(days, "day")


def business(minutes: float) -> str:
    """Say a duration given in business minutes."""
    if minutes < 60:
        return _amount(max(1, round(minutes)), "business minute")
    hours = minutes / 60
    return _amount(round(hours, 1) if hours < 10 else round(hours), "business hour")


def _amount(n: float, noun: str) -> str:
    shown = f"{n:g}"
    return f"{shown} {noun}" if shown == "1" else f"{shown} {noun}s"


def percent(share: float) -> str:
    """Say a share as a whole percentage: '80 %', 'under 1 %'."""
    if 0 < share < 0.005:
        return "under 1 %"
    return f"{round(share * 100)} %"
