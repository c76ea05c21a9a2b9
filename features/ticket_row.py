"""One ticket's as-of feature row in plain Python, for the per-request path.

:func:`features.asof.event_states` and :func:`features.asof.features_at` build
rows for many tickets and moments with pandas; building a one-row data frame
costs milliseconds, so a CRM call that scores one ticket from its own events
uses :func:`ticket_row` instead. It folds the same events by the same rules
into the same columns, and a test checks it against the batch path on real
tickets. The desk-wide context (group load, requester history) comes from a
:class:`DeskContext` built once per store version from the stored states.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from features.asof import (
    _NS_PER_HOUR,
    PRIORITIES,
    STATE_COLUMNS,
    TIMED_STATUSES,
    desk_tables,
)
from features.events import _ROLE_OF_KIND, _STATUS_OF_KIND, DONE_STATUSES

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DONE = frozenset(str(s) for s in DONE_STATUSES)
_TIMED = tuple(str(s) for s in TIMED_STATUSES)
_WAITING = ("waiting_customer", "waiting_third_party")
_RANK = {name: float(i + 1) for i, name in enumerate(PRIORITIES)}
_NAN = float("nan")


def _ns(value: Any) -> int:
    """Return UTC epoch nanoseconds of an aware instant."""
    if isinstance(value, pd.Timestamp):
        return int(value.tz_convert("UTC").value)
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + (
        delta.microseconds * 1_000
    )


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def conform_records(
    ticket_id: str, records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return one ticket's events as :func:`features.events.conform_events` would.

    Parameters
    ----------
    ticket_id : str
        The ticket the events belong to.
    records : sequence of mapping
        The ticket's events (``occurred_at`` an aware instant, ``kind``, and
        any state fields), in any order.

    Returns
    -------
    list of dict
        Text fields as ``str`` or None, ``t_ns`` (UTC epoch nanoseconds) added,
        the status implied by the kind and the role following from it, sorted
        by time, ``seq`` and ``event_id`` (None last).
    """
    out = []
    for record in records:
        row: dict[str, Any] = {key: _text(value) for key, value in record.items()}
        row["ticket_id"] = ticket_id
        row["occurred_at"] = record["occurred_at"]
        row["t_ns"] = _ns(record["occurred_at"])
        row["seq"] = int(record.get("seq") or 0)
        kind = row.get("kind")
        if row.get("status") is None and kind in _STATUS_OF_KIND:
            row["status"] = _STATUS_OF_KIND[kind]
        if row.get("actor_role") is None:
            row["actor_role"] = _ROLE_OF_KIND.get(kind or "", "agent")
        out.append(row)
    out.sort(
        key=lambda r: (
            r["t_ns"],
            r["seq"],
            r.get("event_id") is None,
            r.get("event_id") or "",
        )
    )
    return out


@dataclass(frozen=True)
class DeskContext:
    """Open tickets per group and tickets per requester over time, from a store.

    ``load`` maps a group to the instants its open count changed (float UTC
    epoch nanoseconds, sorted) and the count after each; ``requesters`` maps a
    requester to the sorted creation instants of their tickets.
    """

    load: dict[str, tuple[np.ndarray, np.ndarray]]
    requesters: dict[str, np.ndarray]
    tickets: frozenset[str]

    @classmethod
    def from_states(cls, states: pd.DataFrame) -> DeskContext:
        """Build the context from :func:`features.asof.event_states` output."""
        tables = desk_tables(states)
        load = tables.load.sort_values("t_ns", kind="stable")
        by_group = {
            str(group): (
                part["t_ns"].to_numpy(dtype=float),
                part["group_load"].to_numpy(dtype=float),
            )
            for group, part in load.groupby("group", sort=False)
        }
        history = tables.requesters
        by_requester = {
            str(requester): np.sort(part["created_ns"].to_numpy(dtype=float))
            for requester, part in history.groupby("requester", sort=False)
        }
        tickets = frozenset(states["ticket_id"].astype(str).unique().tolist())
        return cls(by_group, by_requester, tickets)


@dataclass
class _Fold:
    """The cumulative state of one ticket after its latest event."""

    t: float = _NAN
    created: float = _NAN
    n_events: int = 0
    agent_actions: int = 0
    last_agent: float = _NAN
    customer_messages: int = 0
    last_customer: float = _NAN
    reopens: int = 0
    priority_changes: int = 0
    breached: bool = False
    merged: bool = False
    handoffs: int = 0
    group_returns: int = 0
    back_with_group: bool = False
    last_handoff: float = _NAN
    status_since: float = _NAN


def _fold(events: list[dict[str, Any]], at_ns: int) -> tuple[_Fold, dict[str, Any]]:
    """Fold the events up to ``at_ns`` by the rules of ``event_states``.

    ``at_ns`` stays an integer: a float64 cannot hold today's epoch
    nanoseconds exactly, and an event at the very instant must count.
    """
    fold = _Fold()
    state: dict[str, Any] = dict.fromkeys(STATE_COLUMNS)
    groups: set[str] = set()
    people: set[str] = set()
    spent = dict.fromkeys(_TIMED, 0.0)
    joined: set[str] = set()
    for i, event in enumerate(events):
        if event["t_ns"] > at_ns:
            break
        t = float(event["t_ns"])
        previous_group, previous_status = state["group"], state["status"]
        for column in STATE_COLUMNS:
            if event.get(column) is not None:
                state[column] = event[column]
        if i == 0:
            fold.created = t
        kind, role = event.get("kind"), event.get("actor_role")
        fold.n_events += 1
        if role == "agent" and kind != "created":
            fold.agent_actions += 1
            fold.last_agent = t
        if kind == "customer_message":
            fold.customer_messages += 1
            fold.last_customer = t
        fold.reopens += kind == "reopened"
        fold.priority_changes += kind == "priority_changed"
        fold.breached = fold.breached or kind == "sla_breached"
        fold.merged = fold.merged or kind == "merged"

        # Hand-offs, returns and the teams seen.
        group = state["group"]
        if group is not None and previous_group is not None and group != previous_group:
            fold.handoffs += 1
            fold.back_with_group = group in groups
            fold.group_returns += fold.back_with_group
            fold.last_handoff = t
        if group is not None:
            groups.add(group)
        actor = event.get("actor")
        if actor is not None and role != "system":
            people.add(actor)
        if event.get("assignee") is not None:
            people.add(event["assignee"])

        # Status time, closed off at every event.
        if i > 0 and previous_status in spent:
            spent[previous_status] += t - fold.t
        status = state["status"]
        if status is None or previous_status is None or status != previous_status:
            fold.status_since = t
        fold.t = t

        # Group membership after each instant, as the group load counts it.
        last_at_instant = i + 1 == len(events) or events[i + 1]["t_ns"] != event["t_ns"]
        done = state["status"] in _DONE or fold.merged
        if last_at_instant and group is not None and not done:
            joined.add(group)
    extra = {
        "distinct_groups": len(groups),
        "distinct_people": len(people),
        "spent": spent,
        "joined": joined,
        "first_requester": _first_requester(events),
    }
    return fold, {**state, **extra}


def _first_requester(events: list[dict[str, Any]]) -> str | None:
    """Return the requester after the ticket's first instant."""
    requester = None
    for event in events:
        if event["t_ns"] != events[0]["t_ns"]:
            break
        if event.get("requester") is not None:
            requester = event["requester"]
    return requester


def _hours(ns: float) -> float:
    return ns / _NS_PER_HOUR


def ticket_row(
    events: list[dict[str, Any]],
    at: datetime,
    context: DeskContext,
    *,
    stored: bool = False,
) -> dict[str, Any] | None:
    """Return the as-of feature row of one ticket at ``at``.

    Parameters
    ----------
    events : list of dict
        Output of :func:`conform_records` for one ticket: by default one
        that is not in the store ``context`` was built from.
    at : datetime
        The aware moment of the row.
    context : DeskContext
        The store's group load and requester history.
    stored : bool
        True when ``events`` are the store's own events of a ticket that
        ``context`` already counts: its part is then not added a second time.

    Returns
    -------
    dict or None
        The keys and values of one row of :func:`features.asof.features_at`
        (None for missing text, NaN for missing numbers); None when the ticket
        has no event at or before ``at``.
    """
    at_int = _ns(at)
    if not events or events[0]["t_ns"] > at_int:
        return None
    fold, state = _fold(events, at_int)
    at_ns = float(at_int)
    since_event = at_ns - fold.t
    status = state["status"]
    done = status in _DONE or fold.merged
    row: dict[str, Any] = {"ticket_id": events[0]["ticket_id"]}
    row["at"] = pd.Timestamp(at_int, tz="UTC")
    for column in STATE_COLUMNS:
        row[column] = state[column]
    row["done"] = done
    row["breached"] = fold.breached
    row["merged"] = fold.merged
    row["back_with_group"] = fold.back_with_group
    row["created_at"] = pd.Timestamp(int(fold.created), tz="UTC")
    row["age_hours"] = _hours(at_ns - fold.created)
    row["n_events"] = float(fold.n_events)
    row["handoffs"] = float(fold.handoffs)
    row["group_returns"] = float(fold.group_returns)
    row["distinct_people"] = float(state["distinct_people"])
    row["distinct_groups"] = float(state["distinct_groups"])
    row["reopens"] = float(fold.reopens)
    row["priority_changes"] = float(fold.priority_changes)
    row["agent_actions"] = float(fold.agent_actions)
    row["customer_messages"] = float(fold.customer_messages)
    row["hours_since_last_handoff"] = _hours(at_ns - fold.last_handoff)
    row["priority_rank"] = _RANK.get(state["priority"] or "", _NAN)

    # Status time so far, the current segment included.
    waiting = 0.0
    for name in _TIMED:
        current = since_event if status == name else 0.0
        row[f"hours_status_{name}"] = _hours(state["spent"][name] + current)
        if name in _WAITING:
            waiting += row[f"hours_status_{name}"]
    row["hours_waiting"] = waiting
    row["hours_in_current_status"] = _hours(at_ns - fold.status_since)
    last_agent = fold.created if math.isnan(fold.last_agent) else fold.last_agent
    row["hours_since_agent_action"] = _hours(at_ns - last_agent)
    row["hours_since_customer_message"] = _hours(at_ns - fold.last_customer)
    row["has_assignee"] = float(state["assignee"] is not None)

    # Desk context: the store's counts, with this ticket's own part added
    # unless the store already holds it.
    requester = state["requester"]
    created = context.requesters.get(requester or "", np.zeros(0))
    count = int(np.searchsorted(created, at_ns, side="right"))
    if not stored:
        count += requester is not None and state["first_requester"] == requester
    prior = count - 1.0 if count else _NAN
    row["requester_prior_tickets"] = prior if requester is not None else _NAN
    row["group_load"] = _group_load_at(context, state, done, at_ns, stored=stored)
    stamp = row["at"]
    row["hour_of_day"] = float(stamp.hour)
    row["day_of_week"] = float(stamp.day_of_week)
    return row


def _group_load_at(
    context: DeskContext,
    state: dict[str, Any],
    done: bool,
    at_ns: float,
    *,
    stored: bool,
) -> float:
    """Open tickets of the row's group at ``at_ns``, this ticket included."""
    group = state["group"]
    if group is None:
        return _NAN
    instants, counts = context.load.get(group, (np.zeros(0), np.zeros(0)))
    seen = int(np.searchsorted(instants, at_ns, side="right"))
    if stored:
        # The store's counts hold this ticket already.
        return float(counts[seen - 1]) if seen else _NAN
    mine = not done
    if seen == 0 and group not in state["joined"]:
        return _NAN
    return (counts[seen - 1] if seen else 0.0) + float(mine)
