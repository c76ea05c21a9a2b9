"""Decide which rules fire for a ticket at a moment, and when to look again.

A rule looks at one SLA clock at a time. It can only fire on a clock that is
open and counting (running, or breached and still open): a paused clock, a
stopped clock and a closed or merged ticket fire nothing, so a reopened
ticket's old, stopped clocks never raise a stale breach. A clock's cycle is
its target and start instant; with the ticket and rule it makes the alert's
unique key, so each cycle fires a rule once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from features.sla.calendar import BusinessCalendar
from features.sla.model import ClockResult, TicketClocks
from models.alerts.rules import PRIORITIES, Rule, RuleFile, Target

#: Ticket fields a rule may match on, and fields templates may name.
TICKET_FIELDS = (
    "priority",
    "group",
    "category",
    "channel",
    "customer_tier",
    "requester",
    "status",
    "assignee",
)


@dataclass(frozen=True)
class TicketView:
    """What the rules see of one ticket at a moment."""

    ticket_id: str
    at: datetime
    fields: Mapping[str, str | None]
    clocks: TicketClocks
    calendar: BusinessCalendar
    is_open: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    probability: float | None = None
    reasons: list[str] = field(default_factory=list)
    time_to_breach_hours: float | None = None
    time_to_breach_p90_hours: float | None = None


@dataclass(frozen=True)
class Firing:
    """A rule that holds on one clock of a ticket."""

    rule: Rule
    clock: Target
    cycle: str
    why: str


def counting(clock: ClockResult) -> bool:
    """Return whether a clock is open and counting (not paused, not stopped)."""
    snapshot = clock.snapshot
    return (
        clock.state in ("running", "breached")
        and clock.stopped_at is None
        and snapshot is not None
        and not snapshot.paused
    )


def cycle_of(clock: ClockResult) -> str:
    """Return a clock cycle's identity: its target and start instant (UTC)."""
    assert clock.started_at is not None
    return f"{clock.target}@{clock.started_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _hours(minutes: float) -> str:
    hours = abs(minutes) / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _fields_hold(rule: Rule, view: TicketView) -> bool:
    when = rule.when
    for name in ("priority", "group", "category", "channel", "customer_tier"):
        allowed = getattr(when, name)
        if allowed is not None and view.fields.get(name) not in allowed:
            return False
    if when.probability is not None and not when.probability.holds(view.probability):
        return False
    ttb = when.time_to_breach_hours
    if ttb is not None and not ttb.holds(view.time_to_breach_hours):
        return False
    p90 = when.time_to_breach_p90_hours
    return p90 is None or p90.holds(view.time_to_breach_p90_hours)


def _why(rule: Rule, clock: ClockResult, view: TicketView) -> str:
    assert clock.elapsed_minutes is not None and clock.target_minutes is not None
    name = clock.target.replace("_", " ")
    if clock.breached:
        text = f"{name} clock breached {_hours(-(clock.remaining_minutes or 0))} ago"
    else:
        share = clock.elapsed_minutes / clock.target_minutes
        text = (
            f"{name} clock at {share:.0%} of its {_hours(clock.target_minutes)} "
            f"target, {_hours(clock.remaining_minutes or 0)} left"
        )
    if rule.when.probability is not None and view.probability is not None:
        text += f"; stall risk {view.probability:.0%}"
        if view.reasons:
            text += f" ({'; '.join(view.reasons)})"
    return f"{rule.name}: {text}"


def firings(rules: RuleFile, view: TicketView) -> list[Firing]:
    """Return every rule that holds on a counting clock of the ticket."""
    if not view.is_open:
        return []
    out = []
    for rule in rules.rules:
        if not _fields_hold(rule, view):
            continue
        when = rule.when
        for target in when.targets:
            clock = view.clocks.clocks[target]
            if not counting(clock):
                continue
            assert clock.elapsed_minutes is not None
            assert clock.target_minutes is not None
            share = clock.elapsed_minutes / clock.target_minutes
            remaining = (clock.target_minutes - clock.elapsed_minutes) / 60
            checks = [
                when.share_used is None or when.share_used.holds(share),
                when.elapsed_hours is None
                or when.elapsed_hours.holds(clock.elapsed_minutes / 60),
                when.remaining_hours is None or when.remaining_hours.holds(remaining),
                when.breached is None or when.breached == clock.breached,
            ]
            if all(checks):
                out.append(
                    Firing(rule, target, cycle_of(clock), _why(rule, clock, view))
                )
    return out


def _marks(rule: Rule, target_minutes: float) -> list[float]:
    # Elapsed business minutes at which this rule's clock conditions may change.
    when = rule.when
    marks = [target_minutes] if when.breached is not None else []
    if when.share_used is not None:
        marks += [s * target_minutes for s in (when.share_used.at_least,) if s]
    if when.elapsed_hours is not None and when.elapsed_hours.at_least is not None:
        marks.append(when.elapsed_hours.at_least * 60)
    if when.remaining_hours is not None and when.remaining_hours.at_most is not None:
        marks.append(target_minutes - when.remaining_hours.at_most * 60)
    return marks


def next_wake_up(rules: RuleFile, view: TicketView) -> datetime | None:
    """Return the first instant after ``view.at`` at which a clock crosses a mark.

    Paused and stopped clocks do not move, so they never wake a ticket up;
    an event does (the evaluator is also called on every stored event).
    """
    if not view.is_open:
        return None
    best: datetime | None = None
    for rule in rules.rules:
        for target in rule.when.targets:
            clock = view.clocks.clocks[target]
            if not counting(clock):
                continue
            assert clock.elapsed_minutes is not None
            assert clock.target_minutes is not None
            for mark in _marks(rule, clock.target_minutes):
                if mark <= clock.elapsed_minutes:
                    continue
                at = view.calendar.add_business_minutes(
                    view.at, mark - clock.elapsed_minutes
                )
                best = at if best is None or at < best else best
    return best


def raised(priority: str | None) -> str | None:
    """Return the next higher priority, or None when already critical."""
    if priority not in PRIORITIES:
        return "high"
    index = PRIORITIES.index(priority)
    return PRIORITIES[index - 1] if index > 0 else None


def hold_until(calendar: BusinessCalendar | None, at: datetime) -> datetime | None:
    """Return the start of the recipient's next business hours, if closed at ``at``."""
    if calendar is None or calendar.is_open(at):
        return None
    spans = calendar.open_intervals(at, at + timedelta(days=30))
    return spans[0][0] if spans else None
