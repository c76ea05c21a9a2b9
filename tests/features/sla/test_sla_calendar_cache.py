"""The calendar's built range: asking late first must not spoil earlier answers."""

from __future__ import annotations

from datetime import UTC, datetime

from features.sla.calendar_loader import load_calendar

WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def test_calendar_earlier_range_after_later_one_counts_the_same() -> None:
    fresh = load_calendar({"timezone": "Europe/Berlin", "week": WEEKDAYS})
    used = load_calendar({"timezone": "Europe/Berlin", "week": WEEKDAYS})
    used.business_seconds_between_epoch(
        _epoch("2025-06-02T09:00+02:00"), _epoch("2025-06-03T09:00+02:00")
    )
    start, end = _epoch("2025-03-03T08:00+01:00"), _epoch("2025-03-04T12:00+01:00")

    # Monday 09:00-17:00 and Tuesday 09:00-12:00: 11 hours.
    assert used.business_seconds_between_epoch(start, end) == 11 * 3600
    assert fresh.business_seconds_between_epoch(start, end) == 11 * 3600
    assert used.add_business_seconds_epoch(start, 3600) == _epoch(
        "2025-03-03T10:00+01:00"
    )
