"""A clock's ledger: the segments that explain its due instant."""

from __future__ import annotations

from features.sla.calendar import BusinessCalendar, from_epoch
from features.sla.model import ClockSegment


def ledger_segments(
    calendar: BusinessCalendar, start: int, end: int, pauses: list[tuple[int, int]]
) -> list[ClockSegment]:
    """Split a clock's life into running, paused and outside-hours segments.

    Parameters
    ----------
    calendar : BusinessCalendar
        Opening hours of the clock.
    start, end : int
        UTC epoch seconds of the clock's start and of its stop (or "now").
    pauses : list of (int, int)
        Paused stretches inside ``[start, end]``, in order.

    Returns
    -------
    list of ClockSegment
        In time order, with the business minutes each counts.
    """
    segments: list[ClockSegment] = []

    def add_running(a: int, b: int) -> None:
        cursor = a
        for open_a, open_b in calendar.open_intervals_epoch(a, b):
            if open_a > cursor:
                segments.append(
                    ClockSegment(
                        "outside_hours", from_epoch(cursor), from_epoch(open_a), 0
                    )
                )
            minutes = (open_b - open_a) / 60
            segments.append(
                ClockSegment("running", from_epoch(open_a), from_epoch(open_b), minutes)
            )
            cursor = open_b
        if b > cursor:
            segments.append(
                ClockSegment("outside_hours", from_epoch(cursor), from_epoch(b), 0)
            )

    cursor = start
    for a, b in pauses:
        add_running(cursor, a)
        minutes = int(calendar.business_seconds_between_epoch(a, b)) / 60
        segments.append(ClockSegment("paused", from_epoch(a), from_epoch(b), minutes))
        cursor = b
    add_running(cursor, end)
    return segments
