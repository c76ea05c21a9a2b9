"""An independent reference for the report tests: SQL and a loop per ticket.

Written apart from ``models.reports``: it reads the events table with plain
SQL and carries each ticket's state forward by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from features.store import make_engine

AS_OF = datetime(2016, 3, 16, 9, 0, tzinfo=UTC)
START = datetime(2016, 3, 1, tzinfo=UTC)
END = datetime(2016, 3, 16, tzinfo=UTC)
PERIOD = {"from": START.isoformat(), "to": END.isoformat(), "at": AS_OF.isoformat()}
DONE = {"resolved", "closed"}
IMPLIED = {"resolved": "resolved", "closed": "closed", "merged": "closed"}
IMPLIED["reopened"] = "open"


# ---------------------------------------------------------------- reference


@dataclass
class State:
    """A ticket after one event, carried forward by hand."""

    t: datetime
    status: str | None = None
    group: str | None = None
    category: str | None = None
    channel: str | None = None
    merged: bool = False


@dataclass
class Ticket:
    """A ticket's states by instant, and each event's kind and group after it."""

    states: list[State] = field(default_factory=list)
    kinds: list[tuple[datetime, str]] = field(default_factory=list)
    groups: list[tuple[datetime, str | None]] = field(default_factory=list)


def replay(url: str) -> dict[str, Ticket]:
    """Read every event with SQL and carry each ticket's state forward."""
    engine = make_engine(url)
    query = sa.text(
        'SELECT ticket_id, occurred_at, kind, status, "group", category, channel '
        "FROM events ORDER BY ticket_id, occurred_at, seq, event_id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    engine.dispose()
    tickets: dict[str, Ticket] = {}
    for ticket_id, occurred, kind, status, group, category, channel in rows:
        t = _instant(occurred)
        if t > AS_OF:
            continue
        ticket = tickets.setdefault(ticket_id, Ticket())
        previous = ticket.states[-1] if ticket.states else State(t)
        state = State(
            t,
            status or IMPLIED.get(kind) or previous.status,
            group or previous.group,
            category or previous.category,
            channel or previous.channel,
            previous.merged or kind == "merged",
        )
        # Several events at one instant leave one state: the last.
        if ticket.states and ticket.states[-1].t == t:
            ticket.states[-1] = state
        else:
            ticket.states.append(state)
        ticket.kinds.append((t, kind))
        ticket.groups.append((t, state.group))
    return tickets


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def state_before(ticket: Ticket, instant: datetime) -> State | None:
    before = [s for s in ticket.states if s.t < instant]
    return before[-1] if before else None


def open_before(tickets: dict[str, Ticket], instant: datetime) -> list[State]:
    out = []
    for ticket in tickets.values():
        state = state_before(ticket, instant)
        if state is not None and state.status not in DONE and not state.merged:
            out.append(state)
    return out
