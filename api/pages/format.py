"""Words and numbers as the manager's pages print them."""

from __future__ import annotations

from datetime import UTC, datetime


def business_minutes(minutes: float) -> str:
    """Return a business duration such as ``3 h 20 m`` or ``2 d 4 h``.

    A day here is 24 business hours, so the text never pretends to know a
    desk's opening hours.
    """
    total = max(0, round(minutes))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} m"
    return f"{mins} m"


def ago(seconds: float) -> str:
    """Return how long ago something was, in wall time: ``5 h``, ``3 days``."""
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 24 * 3600:
        return f"{int(seconds // 3600)} h"
    if seconds < 48 * 3600:
        return "1 day"
    return f"{round(seconds / 86400)} days"


def countdown(
    *,
    at: datetime,
    minutes_to_due: float | None,
    paused: bool,
    breached_since: datetime | None,
    paused_minutes_left: float | None = None,
) -> tuple[str, float]:
    """Return the SLA countdown text of a ticket and a key that sorts by urgency.

    The key is the business minutes left (negative once breached, by the wall
    minutes since the breach), so the most urgent sorts first.
    """
    if breached_since is not None:
        late = (at - breached_since).total_seconds()
        return f"breached {ago(late)} ago", -late / 60
    if minutes_to_due is not None:
        text = f"due in {business_minutes(minutes_to_due)} of business time"
        return text, minutes_to_due
    if paused and paused_minutes_left is not None:
        left = business_minutes(paused_minutes_left)
        return f"paused, {left} of business time left", 10**6 + paused_minutes_left
    if paused:
        return "SLA clock paused", 10**9
    return "no SLA clock running", 2 * 10**9


def percent(value: float | None) -> str:
    """Return a share as a whole percentage, or a dash when unknown."""
    return "–" if value is None else f"{value:.0%}"


def instant(value: datetime | None) -> str:
    """Return an instant as ``2016-05-23 09:00 UTC``."""
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
