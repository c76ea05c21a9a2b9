"""A desk's set-up: calendar versions in force, policy selection, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from features.sla.clocks import compute_clocks
from features.sla.desk import load_desk
from features.sla.validation import SlaConfigError

DESK = {
    "name": "berlin",
    "response_kinds": ["agent_reply"],
    "calendars": [
        {
            "version": "v1",
            "effective_from": "2024-01-01T00:00:00+00:00",
            "timezone": "Europe/Berlin",
            "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu")},
        },
        {
            "version": "v2",
            "effective_from": "2024-06-01T00:00:00+02:00",
            "timezone": "Europe/Berlin",
            "week": "24/7",
        },
    ],
    "policies": {
        "version": "p1",
        "policies": [
            {"name": "urgent", "match": {"priority": "critical"},
             "resolution_minutes": 60},
            {"name": "gold", "match": {"customer_tier": "gold"},
             "resolution_minutes": 240},
            {"name": "default", "match": {}, "resolution_minutes": 600},
        ],
    },
}  # fmt: skip


def _event(at: str, kind: str, **fields: object) -> dict[str, object]:
    return {"occurred_at": pd.Timestamp(at), "kind": kind, "actor_role": "agent",
            "status": "open", "priority": "low", **fields}  # fmt: skip


def test_desk_uses_calendar_in_force_at_creation() -> None:
    desk = load_desk(DESK)

    before = desk.calendar_at(datetime(2024, 5, 31, 21, 59, tzinfo=UTC))
    after = desk.calendar_at(datetime(2024, 5, 31, 22, 0, tzinfo=UTC))

    assert (before.version, after.version) == ("v1", "v2")


def test_desk_priority_change_reselects_policy_from_clock_start() -> None:
    desk = load_desk(DESK)
    records = [
        _event("2024-06-03T08:00Z", "created"),
        _event("2024-06-03T09:30Z", "priority_changed", priority="critical"),
    ]

    policy, events = desk.sla_events(records)
    clocks = compute_clocks(
        calendar=desk.calendar_at(records[0]["occurred_at"]),  # type: ignore[arg-type]
        policy=policy,
        events=events,
        at=datetime(2024, 6, 3, 10, 0, tzinfo=UTC),
    )

    # 24/7 calendar: the critical target (60 min) applies from 08:00.
    assert policy.name == "default"
    assert [e.kind for e in events] == ["created", "priority_changed", "policy_changed"]
    assert clocks["resolution"].state == "breached"
    assert clocks["resolution"].due == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def test_desk_response_kinds_become_agent_replies() -> None:
    desk = load_desk({**DESK, "response_kinds": ["agent_reply", "assigned"]})
    records = [
        _event("2024-06-03T08:00Z", "created"),
        _event("2024-06-03T08:10Z", "assigned", group="L2"),
        _event("2024-06-03T08:20Z", "assigned", actor_role="system"),
    ]

    _, events = desk.sla_events(records)

    assert [e.kind for e in events] == ["created", "agent_reply", "assigned"]


def test_load_desk_lists_every_bad_field() -> None:
    bad = {
        **DESK,
        "response_kinds": ["telepathy"],
        "calendars": [{"version": "x", "effective_from": "soon", "timezone": "UTC",
                       "week": "24/7"}],
        "policies": {"policies": [{"name": "p", "resolution_minutes": -5}]},
    }  # fmt: skip

    with pytest.raises(SlaConfigError, match=r"response_kinds") as caught:
        load_desk(bad)

    fields = [issue.field for issue in caught.value.issues]
    assert "calendars[0].effective_from" in fields
    assert any(f.startswith("policies.policies[0].resolution_minutes") for f in fields)


def test_desk_customer_tier_selects_and_carries_forward() -> None:
    desk = load_desk(DESK)
    records = [
        _event("2024-06-03T08:00Z", "created", customer_tier="gold"),
        # A later event that omits the tier keeps it: no policy change.
        _event("2024-06-03T09:00Z", "internal_note", customer_tier=None),
    ]

    policy, events = desk.sla_events(records)

    assert policy.name == "gold"
    assert "policy_changed" not in [e.kind for e in events]
