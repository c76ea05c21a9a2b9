"""When a customer should hear from the desk without asking.

Three triggers, each at most once per occurrence (its instant is the cycle):

- ``handoff``: the ticket moved to another group;
- ``paused``: its clocks were paused (waiting on the customer or a third party);
- ``silence``: no customer-visible update (an agent's response, or an earlier
  customer update) for ``silence_hours`` wall-clock hours.

A hand-off or pause older than ``silence_hours`` is not announced late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from features.sla.calendar import from_epoch
from features.sla.desk import SlaDesk
from models.alerts.evaluate import TicketView
from models.alerts.rules import CustomerUpdates


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def last_handoff(view: TicketView) -> datetime | None:
    """Return the instant the ticket last changed group, if it ever did."""
    group: str | None = None
    moved: datetime | None = None
    for event in view.events:
        new = event.get("group")
        if new is None or new is pd.NA or new != new:
            continue
        if group is not None and new != group:
            moved = pd.Timestamp(event["occurred_at"]).to_pydatetime()
        group = str(new)
    return moved


def pause_start(view: TicketView) -> datetime | None:
    """Return when the ticket's current pause began, if its clocks are paused."""
    starts = [
        c.snapshot.segment_start
        for c in view.clocks.clocks.values()
        if c.snapshot is not None and c.snapshot.paused and c.stopped_at is None
    ]
    return from_epoch(min(starts)) if starts else None


def last_visible_update(
    view: TicketView, desk: SlaDesk, last_sent: datetime | None
) -> datetime:
    """Return the latest customer-visible moment: creation, a response, an update."""
    moments = [pd.Timestamp(view.events[0]["occurred_at"]).to_pydatetime()]
    for event in view.events:
        if event["kind"] in desk.response_kinds and event.get("actor_role") in (
            "agent",
            None,
        ):
            moments.append(pd.Timestamp(event["occurred_at"]).to_pydatetime())
    if last_sent is not None:
        moments.append(last_sent)
    return max(moments)


def customer_triggers(
    view: TicketView,
    desk: SlaDesk,
    config: CustomerUpdates,
    last_sent: datetime | None,
) -> list[tuple[str, str]]:
    """Return the (trigger, cycle) pairs due for this ticket at ``view.at``."""
    if not view.is_open or not view.events:
        return []
    window = timedelta(hours=config.silence_hours)
    due: list[tuple[str, str]] = []
    moved = last_handoff(view)
    if "handoff" in config.on and moved is not None and moved >= view.at - window:
        due.append(("handoff", f"handoff@{_stamp(moved)}"))
    paused = pause_start(view)
    if "paused" in config.on and paused is not None and paused >= view.at - window:
        due.append(("paused", f"paused@{_stamp(paused)}"))
    if "silence" in config.on and paused is None:
        visible = last_visible_update(view, desk, last_sent)
        if view.at - visible >= window:
            due.append(("silence", f"silence@{_stamp(visible)}"))
    return due


def silence_wake_up(
    view: TicketView, desk: SlaDesk, config: CustomerUpdates, last_sent: datetime | None
) -> datetime | None:
    """Return when the silence trigger falls due, for an open, unpaused ticket."""
    if "silence" not in config.on or not view.is_open or not view.events:
        return None
    if pause_start(view) is not None:
        return None
    visible = last_visible_update(view, desk, last_sent)
    due = visible + timedelta(hours=config.silence_hours)
    return due if due > view.at else None
