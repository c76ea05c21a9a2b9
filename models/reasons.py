"""Turn per-feature contributions into reasons a support manager reads.

LightGBM gives each feature's contribution to a prediction in log-odds. Features
that tell one story (the hand-off counts and the current team; every SLA clock
feature; every topic column) form a *family*: their contributions are added up
and the family speaks once, in the desk's words, from the ticket's own values.
Durations the features keep in wall-clock hours read as plain hours and days;
SLA clock durations, kept in business minutes, read as business hours.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from models.wording import as_text, business, count, number, percent, times, wall, word

Row = Mapping[str, Any]

log = logging.getLogger("stallwatch.models")

_TARGET_NAMES = {
    "first_response": "first-response",
    "next_response": "next-response",
    "resolution": "resolution",
}


def _handoffs(row: Row) -> str:
    n = number(row.get("handoffs"))
    returns = number(row.get("group_returns"))
    teams = number(row.get("distinct_groups"))
    group = as_text(row.get("group"))
    since = number(row.get("hours_since_last_handoff"))
    if group is None:
        return "not with any team yet"
    if math.isnan(n) or n < 1:
        return f"still with its first team, {group}"
    last = "" if math.isnan(since) else f", the last {wall(since)} ago"
    back = row.get("back_with_group")
    if back is None:
        # Without the flag: with two teams every later hand-off is a return.
        back = returns >= 1 and teams == 2
    if back:
        others = count(teams - 1, "other team")
        return (
            f"returned to {group} after {count(n, 'hand-off')} through {others}{last}"
        )
    if returns >= 1:
        return (
            f"passed back and forth: {count(n, 'hand-off')} among "
            f"{count(teams, 'team')}, {word(returns)} of them back to a team "
            f"it had left; now with {group}{last}"
        )
    if n == 1:
        return f"handed off once, now with {group}{last}"
    teams_text = count(teams, "team")
    return f"handed off {times(n)} through {teams_text}, now with {group}{last}"


def _load(row: Row) -> str:
    group = as_text(row.get("group"))
    load = number(row.get("group_load"))
    if group is None or math.isnan(load):
        return "no team's queue to count"
    return f"{group} has {count(load, 'open ticket')}"


def _status(row: Row) -> str:
    status = as_text(row.get("status"))
    current = number(row.get("hours_in_current_status"))
    customer = number(row.get("hours_status_waiting_customer"))
    third = number(row.get("hours_status_waiting_third_party"))
    if status in ("waiting_customer", "waiting_third_party"):
        whom = "the customer" if status == "waiting_customer" else "a third party"
        total = customer if status == "waiting_customer" else third
        text = f"waiting on {whom} for {wall(current)}"
        if total - current >= 1:
            text += f" ({wall(total)} in all)"
        return text
    if status == "new":
        return f"still new after {wall(current)}"
    if status in ("resolved", "closed"):
        return f"{status} {wall(current)} ago"
    if status is None:
        return "no status set"
    text = f"in progress for {wall(current)}"
    waited = [
        (hours, whom)
        for hours, whom in ((customer, "the customer"), (third, "a third party"))
        if hours > 0
    ]
    if waited:
        whom = " and ".join(w for _, w in waited)
        text += f", after waiting on {whom} for {wall(sum(h for h, _ in waited))}"
    return text


def _silence(row: Row) -> str:
    hours = number(row.get("hours_since_agent_action"))
    if number(row.get("agent_actions")) < 1:
        text = f"no agent has acted since it was opened {wall(hours)} ago"
    else:
        text = f"no agent action for {wall(hours)}"
    if number(row.get("has_assignee")) == 0:
        text += ", and no one is assigned"
    return text


def _customer(row: Row) -> str:
    n = number(row.get("customer_messages"))
    if math.isnan(n) or n < 1:
        return "no message from the customer yet"
    hours = number(row.get("hours_since_customer_message"))
    return f"the customer wrote {times(n)}, last {wall(hours)} ago"


def _age(row: Row) -> str:
    age = wall(number(row.get("age_hours")))
    updates = number(row.get("n_events")) - 1
    if not updates >= 1:
        return f"open for {age}, not updated since it was opened"
    return f"open for {age} with {count(updates, 'update')} since it was opened"


def _clock_states(row: Row) -> dict[str, str]:
    states = row.get("sla_clocks")
    return dict(states) if isinstance(states, Mapping) else {}


def _sla(row: Row) -> str:
    states = _clock_states(row)
    used = {t: number(row.get(f"sla_{t}_used")) for t in _TARGET_NAMES}
    elapsed = {t: number(row.get(f"sla_{t}_elapsed_minutes")) for t in _TARGET_NAMES}
    breached = number(row.get("sla_breached_clocks"))

    # A breached clock outweighs any share used.
    if breached >= 1:
        late = [t for t in _TARGET_NAMES if states.get(t) == "breached"]
        if not late:
            return f"{count(breached, 'SLA target')} already breached"
        names = " and ".join(_TARGET_NAMES[t] for t in late)
        text = f"{names} target{'s' if len(late) > 1 else ''} breached"
        if len(late) == 1 and used[late[0]] > 0 and not math.isnan(elapsed[late[0]]):
            over = elapsed[late[0]] * (1 - 1 / used[late[0]])
            text += f", over by {business(over)}"
        return text

    # Otherwise the clock closest to its target that still counts.
    live = {
        t: share
        for t, share in used.items()
        if not math.isnan(share) and states.get(t, "running") in ("running", "paused")
    }
    paused = number(row.get("sla_paused")) == 1
    if not live:
        return "SLA clocks paused" if paused else "no SLA clock running"
    target = max(live, key=lambda t: live[t])
    share, minutes = live[target], elapsed[target]
    if target == "next_response" and not math.isnan(minutes):
        text = f"no agent response for {business(minutes)}"
        text += f" ({percent(share)} of the next-response target)"
    else:
        text = f"{_TARGET_NAMES[target]} target {percent(share)} used"
        if not math.isnan(minutes):
            text += f" ({business(minutes)})"
    due = number(row.get("sla_minutes_to_due"))
    if paused:
        text += ", clocks paused"
    elif not math.isnan(due):
        text += f", next SLA deadline in {business(due)}"
    return text


def _topic(row: Row) -> str:
    parts = [as_text(row.get(c)) for c in ("category", "subcategory")]
    named = [p for p in parts if p]
    topic = as_text(row.get("topic"))
    if topic:
        named.append(f'"{topic[:57]}..."' if len(topic) > 60 else f'"{topic}"')
    return "about " + " / ".join(named) if named else "no category or topic set"


def _priority(row: Row) -> str:
    changes = number(row.get("priority_changes"))
    text = f"priority {as_text(row.get('priority')) or 'not set'}"
    if changes >= 1:
        text += f", changed {times(changes)}"
    return text


def _requester(row: Row) -> str:
    n = number(row.get("requester_prior_tickets"))
    if math.isnan(n):
        return "requester not known"
    if n < 1:
        return "the requester's first ticket"
    return f"the requester opened {count(n, 'earlier ticket')}"


def _people(row: Row) -> str:
    return f"{count(number(row.get('distinct_people')), 'person', 'people')} involved"


def _reopens(row: Row) -> str:
    n = number(row.get("reopens"))
    return "never reopened" if n < 1 else f"reopened {times(n)}"


def _channel(row: Row) -> str:
    channel = as_text(row.get("channel"))
    return f"came in by {channel.replace('_', ' ')}" if channel else "channel not known"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _moment(row: Row) -> str:
    hour, day = number(row.get("hour_of_day")), number(row.get("day_of_week"))
    when = f"at {int(hour):02d}:00 UTC" if not math.isnan(hour) else ""
    if not math.isnan(day):
        when = f"on a {_DAYS[int(day)]} {when}".strip()
    return f"scored {when}" if when else "time of scoring"


@dataclass(frozen=True)
class Family:
    """Features that tell one story, and how to say it from a ticket's row."""

    name: str
    features: tuple[str, ...]
    say: Callable[[Row], str]
    prefixes: tuple[str, ...] = ()

    def holds(self, feature: str) -> bool:
        """Whether ``feature`` belongs to this family."""
        return feature in self.features or any(
            feature.startswith(prefix) for prefix in self.prefixes
        )


FAMILIES = (
    Family(
        "handoffs",
        (
            "handoffs",
            "group_returns",
            "hours_since_last_handoff",
            "distinct_groups",
            "group",
        ),
        _handoffs,
    ),
    Family("team_load", ("group_load",), _load),
    Family(
        "status",
        (
            "status",
            "hours_in_current_status",
            "hours_waiting",
            "hours_status_new",
            "hours_status_open",
            "hours_status_waiting_customer",
            "hours_status_waiting_third_party",
        ),
        _status,
    ),
    Family(
        "agent_silence",
        ("hours_since_agent_action", "agent_actions", "has_assignee"),
        _silence,
    ),
    Family(
        "customer", ("customer_messages", "hours_since_customer_message"), _customer
    ),
    Family("sla", (), _sla, prefixes=("sla_",)),
    Family("age", ("age_hours", "n_events"), _age),
    Family("topic", ("category", "subcategory", "topic"), _topic, ("topic_text_",)),
    Family("priority", ("priority", "priority_rank", "priority_changes"), _priority),
    Family("requester", ("requester_prior_tickets",), _requester),
    Family("people", ("distinct_people",), _people),
    Family("reopens", ("reopens",), _reopens),
    Family("channel", ("channel",), _channel),
    Family("moment", ("hour_of_day", "day_of_week"), _moment),
)


@cache
def family_of(feature: str) -> Family | None:
    """Return the family a feature belongs to, or None if none claims it."""
    return next((f for f in FAMILIES if f.holds(feature)), None)


@dataclass(frozen=True)
class Reason:
    """One reason behind a score: a sentence and its weight in log-odds."""

    family: str
    text: str
    contribution: float


def explain(
    row: Row, contributions: np.ndarray, features: list[str], *, top: int = 3
) -> list[Reason]:
    """Return the strongest reasons that pushed one ticket's risk up.

    Parameters
    ----------
    row : mapping
        The ticket's feature values by name (and, when the backlog built it,
        ``sla_clocks`` and the ``sla_<target>_elapsed_minutes`` reader columns).
    contributions : ndarray of shape (n_features,)
        Per-feature contributions in log-odds, bias excluded.
    features : list of str
        Feature names in the order of ``contributions``.
    top : int
        At most this many reasons.

    Returns
    -------
    list of Reason
        One per family whose summed contribution is positive, strongest first.
    """
    totals: dict[str, float] = {}
    for name, value in zip(features, contributions.tolist(), strict=True):
        family = family_of(name)
        if family is None:
            log.warning("reason_feature_without_family", extra={"feature": name})
            continue
        totals[family.name] = totals.get(family.name, 0.0) + value
    by_name = {f.name: f for f in FAMILIES}
    up = sorted(
        ((total, name) for name, total in totals.items() if total > 0),
        key=lambda pair: -pair[0],
    )
    return [
        Reason(family=name, text=by_name[name].say(row), contribution=round(total, 4))
        for total, name in up[:top]
    ]
