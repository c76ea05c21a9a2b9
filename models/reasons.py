"""Turn per-feature contributions into reasons a support manager reads.

Correlated features are grouped into one family (all the waiting times, all the
hand-off counts) so that a reason is said once, in the desk's own words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Row = Mapping[str, Any]


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} minutes"
    if hours < 48:
        return f"{round(hours)} hours"
    return f"{hours / 24:.1f} days".replace(".0 days", " days")


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _plural(n: float, word: str) -> str:
    whole = int(n)
    return f"{whole} {word}" if whole == 1 else f"{whole} {word}s"


def _handoffs(row: Row) -> str:
    n, back = _number(row["handoffs"]), _number(row["group_returns"])
    text = f"{_plural(n, 'hand-off')} between groups"
    if back >= 1:
        text += f", {_plural(back, 'return')} to a group it had left"
    return text


def _silence(row: Row) -> str:
    hours = _number(row["hours_since_agent_action"])
    if _number(row["agent_actions"]) < 1:
        return f"no agent action since it was opened {_duration(hours)} ago"
    return f"no agent action for {_duration(hours)}"


def _waiting(row: Row) -> str:
    customer = _number(row["hours_status_waiting_customer"])
    third = _number(row["hours_status_waiting_third_party"])
    if third > customer:
        return f"waiting on a third party for {_duration(third)} in all"
    if customer > 0:
        return f"waiting on the customer for {_duration(customer)} in all"
    return "has not waited on anyone yet"


def _age(row: Row) -> str:
    return f"open for {_duration(_number(row['age_hours']))}"


def _status(row: Row) -> str:
    hours = _number(row["hours_in_current_status"])
    status = row.get("status") or "not set"
    return f"status {status} for {_duration(hours)}"


def _topic(row: Row) -> str:
    parts = [str(row[c]) for c in ("category", "subcategory", "topic") if row.get(c)]
    return "topic " + " / ".join(parts) if parts else "topic not set"


def _group(row: Row) -> str:
    load = _number(row.get("group_load"))
    text = f"with {row['group']}" if row.get("group") else "not assigned to a group"
    if not math.isnan(load):
        text += f" ({_plural(load, 'open ticket')} in that group)"
    return text


def _people(row: Row) -> str:
    return f"{_plural(_number(row['distinct_people']), 'person')} involved so far"


def _priority(row: Row) -> str:
    changes = _number(row["priority_changes"])
    text = f"priority {row.get('priority') or 'not set'}"
    if changes >= 1:
        text += f", changed {_plural(changes, 'time')}"
    return text


def _requester(row: Row) -> str:
    n = _number(row["requester_prior_tickets"])
    return f"requester opened {_plural(n, 'earlier ticket')}"


def _activity(row: Row) -> str:
    return f"{_plural(_number(row['n_events']), 'update')} so far"


def _reopens(row: Row) -> str:
    return f"reopened {_plural(_number(row['reopens']), 'time')}"


def _sla(row: Row) -> str:
    breached = _number(row.get("sla_breached_clocks"))
    if breached >= 1:
        return f"{_plural(breached, 'SLA clock')} already breached"
    shares = {
        name: _number(row.get(f"sla_{name}_used"))
        for name in ("first_response", "next_response", "resolution")
    }
    known = {k: v for k, v in shares.items() if not math.isnan(v)}
    if not known:
        return "no SLA clock running"
    name, share = max(known.items(), key=lambda item: item[1])
    return f"{share:.0%} of the {name.replace('_', '-')} target used"


def _clock(row: Row) -> str:
    return f"scored at {int(_number(row['hour_of_day'])):02d}:00 UTC"


@dataclass(frozen=True)
class Family:
    """Features that tell one story, and how to say it."""

    name: str
    features: tuple[str, ...]
    say: Callable[[Row], str]


FAMILIES = (
    Family(
        "handoffs",
        ("handoffs", "group_returns", "hours_since_last_handoff", "distinct_groups"),
        _handoffs,
    ),
    Family("silence", ("hours_since_agent_action", "agent_actions"), _silence),
    Family(
        "waiting",
        (
            "hours_waiting",
            "hours_status_waiting_customer",
            "hours_status_waiting_third_party",
            "hours_since_customer_message",
            "customer_messages",
        ),
        _waiting,
    ),
    Family("age", ("age_hours", "hours_status_new", "hours_status_open"), _age),
    Family("status", ("status", "hours_in_current_status"), _status),
    Family("topic", ("category", "subcategory", "topic", "topic_text_*"), _topic),
    Family(
        "sla",
        (
            "sla_first_response_used",
            "sla_next_response_used",
            "sla_resolution_used",
            "sla_minutes_to_due",
            "sla_breached_clocks",
            "sla_paused",
        ),
        _sla,
    ),
    Family("group", ("group", "group_load", "has_assignee"), _group),
    Family("people", ("distinct_people",), _people),
    Family("priority", ("priority", "priority_rank", "priority_changes"), _priority),
    Family("requester", ("requester_prior_tickets",), _requester),
    Family("activity", ("n_events",), _activity),
    Family("reopens", ("reopens",), _reopens),
    Family("clock", ("hour_of_day", "day_of_week", "channel"), _clock),
)


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
        The ticket's feature values by name.
    contributions : ndarray of shape (n_features,)
        Per-feature contributions in log-odds, bias excluded.
    features : list of str
        Feature names in the order of ``contributions``.
    top : int
        At most this many reasons.
    """
    weight = dict(zip(features, contributions.tolist(), strict=True))
    scored = []
    for family in FAMILIES:
        total = sum(
            value
            for name, value in weight.items()
            if name in family.features
            or any(p.endswith("*") and name.startswith(p[:-1]) for p in family.features)
        )
        if total > 0:
            scored.append((total, family))
    scored.sort(key=lambda pair: -pair[0])
    return [
        Reason(family=f.name, text=f.say(row), contribution=round(total, 4))
        for total, f in scored[:top]
    ]
