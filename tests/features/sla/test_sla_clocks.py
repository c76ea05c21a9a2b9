"""The SLA clock ledger: rules beyond the shared cases, worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from features.sla.calendar import BusinessCalendar
from features.sla.calendar_loader import load_calendar
from features.sla.clocks import compute_clock, compute_clocks
from features.sla.model import ClockResult, SlaEvent
from features.sla.policy import SlaPolicy, Target

OFFICE = load_calendar(
    {
        "timezone": "Europe/Berlin",
        "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)
PARIS = load_calendar(
    {
        "timezone": "Europe/Paris",
        "week": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)


def ev(when: str, kind: str, **fields: Any) -> SlaEvent:
    """Return an event at a Berlin wall time on Tue 2025-04-01 or a full instant."""
    text = when if "T" in when else f"2025-04-01T{when}:00+02:00"
    return SlaEvent(at=datetime.fromisoformat(text), kind=kind, **fields)


def clock(
    policy: SlaPolicy,
    events: list[SlaEvent],
    when: str,
    target: Target,
    calendar: BusinessCalendar = OFFICE,
) -> ClockResult:
    return compute_clock(
        calendar=calendar,
        policy=policy,
        events=events,
        at=ev(when, "created").at,
        target=target,
    )


def instant(text: str) -> datetime:
    return datetime.fromisoformat(f"2025-04-01T{text}:00+02:00")


def test_clock_merged_ticket_has_no_clocks() -> None:
    policy = SlaPolicy(first_response_minutes=60, resolution_minutes=240)
    events = [ev("09:00", "created"), ev("10:00", "merged")]

    before = compute_clocks(
        calendar=OFFICE, policy=policy, events=events, at=instant("09:30")
    )
    after = compute_clocks(
        calendar=OFFICE, policy=policy, events=events, at=instant("11:00")
    )

    assert before["resolution"].state == "running"
    assert after.merged
    assert {c.state for c in after.clocks.values()} == {"none"}
    assert after["resolution"].due is None


def test_clock_resolved_while_paused_has_no_due() -> None:
    policy = SlaPolicy(resolution_minutes=240, pause_statuses=frozenset({"pending"}))
    events = [
        ev("09:00", "created"),
        ev("10:00", "status_changed", status="pending"),
        ev("11:00", "resolved"),
    ]

    result = clock(policy, events, "12:00", "resolution")

    assert (result.state, result.due, result.breached) == ("met", None, False)
    assert (result.elapsed_minutes, result.remaining_minutes) == (60, 180)
    assert result.stopped_at == instant("11:00")


def test_clock_agent_reply_while_paused_stops_first_response() -> None:
    policy = SlaPolicy(
        first_response_minutes=120, pause_statuses=frozenset({"pending"})
    )
    events = [
        ev("09:00", "created"),
        ev("09:30", "status_changed", status="pending"),
        ev("10:00", "agent_reply"),
    ]

    result = clock(policy, events, "10:00", "first_response")

    assert (result.state, result.due, result.elapsed_minutes) == ("met", None, 30)


@pytest.mark.parametrize(
    ("reply", "state", "elapsed"),
    [("09:59", "met", 59), ("10:00", "met", 60), ("10:30", "breached", 90)],
)
def test_clock_stop_at_due_in_time_after_due_breached(
    reply: str, state: str, elapsed: int
) -> None:
    policy = SlaPolicy(first_response_minutes=60)
    events = [ev("09:00", "created"), ev(reply, "agent_reply")]

    result = clock(policy, events, "12:00", "first_response")

    assert (result.state, result.elapsed_minutes) == (state, elapsed)
    assert result.due == instant("10:00")
    assert result.breached is (state == "breached")


def test_clock_stop_next_morning_after_due_at_close_is_breached() -> None:
    policy = SlaPolicy(first_response_minutes=60)
    events = [ev("16:00", "created"), ev("2025-04-02T08:30:00+02:00", "agent_reply")]

    result = clock(policy, events, "2025-04-02T12:00:00+02:00", "first_response")

    assert (result.state, result.elapsed_minutes) == ("breached", 60)
    assert result.due == instant("17:00")


def test_clock_between_agent_updates_restarts_at_each_reply() -> None:
    policy = SlaPolicy(
        first_response_minutes=30,
        next_response_minutes=60,
        next_response_mode="between_agent_updates",
    )
    events = [
        ev("09:00", "created"),
        ev("09:20", "agent_reply"),
        ev("10:10", "agent_reply"),
    ]

    at_10 = clock(policy, events, "10:00", "next_response")
    at_1010 = clock(policy, events[:2], "10:10", "next_response")
    at_1030 = clock(policy, events, "10:30", "next_response")

    assert (at_10.state, at_10.elapsed_minutes, at_10.due) == (
        "running",
        40,
        instant("10:20"),
    )
    assert at_1010.state == "running"
    assert (at_1030.state, at_1030.elapsed_minutes, at_1030.due) == (
        "running",
        20,
        instant("11:10"),
    )
    assert at_1030.started_at == instant("10:10")


def test_clock_customer_message_on_resolved_ticket_waits_for_reopen() -> None:
    policy = SlaPolicy(next_response_minutes=60, next_response_mode="customer_waiting")
    events = [
        ev("09:00", "created"),
        ev("09:10", "agent_reply"),
        ev("09:30", "resolved"),
        ev("10:00", "customer_message"),
        ev("11:00", "reopened"),
    ]

    while_resolved = clock(policy, events, "10:30", "next_response")
    after_reopen = clock(policy, events, "11:30", "next_response")

    assert (while_resolved.state, while_resolved.elapsed_minutes) == ("met", 10)
    assert after_reopen.state == "running"
    assert after_reopen.started_at == instant("11:00")
    assert (after_reopen.elapsed_minutes, after_reopen.due) == (30, instant("12:00"))


def test_clock_created_with_pause_status_starts_paused() -> None:
    policy = SlaPolicy(resolution_minutes=60, pause_statuses=frozenset({"pending"}))
    events = [ev("09:00", "created", status="pending")]

    result = clock(policy, events, "10:00", "resolution")

    assert (result.state, result.elapsed_minutes, result.due) == ("paused", 0, None)


def test_clock_warning_running_paused_and_breached() -> None:
    policy = SlaPolicy(
        resolution_minutes=120,
        warn_at_fraction=0.5,
        pause_statuses=frozenset({"pending"}),
    )
    events = [ev("09:00", "created")]
    paused = [*events, ev("10:30", "status_changed", status="pending")]

    assert not clock(policy, events, "09:59", "resolution").warning
    assert clock(policy, events, "10:00", "resolution").warning
    assert clock(policy, paused, "12:00", "resolution").warning
    breached = clock(policy, events, "11:00", "resolution")
    assert (breached.state, breached.warning) == ("breached", False)


def test_clock_policy_change_to_no_target_clears_clock() -> None:
    policy = SlaPolicy(resolution_minutes=240)
    events = [
        ev("09:00", "created"),
        ev("10:00", "policy_changed", policy={"resolution_minutes": None}),
    ]

    assert clock(policy, events, "09:30", "resolution").state == "running"
    assert clock(policy, events, "11:00", "resolution").state == "none"


def test_clock_ledger_replays_pause_and_closed_hours() -> None:
    policy = SlaPolicy(resolution_minutes=600, pause_statuses=frozenset({"pending"}))
    events = [
        ev("2025-03-27T17:00:00+01:00", "created"),
        ev("2025-03-28T09:00:00+01:00", "status_changed", status="pending"),
        ev("2025-03-31T10:00:00+02:00", "customer_message"),
    ]

    result = clock(policy, events, "2025-03-31T12:00:00+02:00", "resolution", PARIS)

    kinds = [(s.kind, s.business_minutes) for s in result.segments]
    assert kinds == [
        ("running", 60),
        ("outside_hours", 0),
        ("running", 60),
        ("paused", 660),  # Fri 09:00-18:00 and Mon 08:00-10:00
        ("running", 120),
    ]
    running = sum(s.business_minutes for s in result.segments if s.kind == "running")
    assert running == result.elapsed_minutes == 240
    assert result.segments[-1].end == datetime(2025, 3, 31, 10, tzinfo=UTC)


def test_clock_results_same_for_events_in_any_zone() -> None:
    policy = SlaPolicy(first_response_minutes=60, resolution_minutes=480)
    berlin = [ev("16:30", "created"), ev("2025-04-02T09:15:00+02:00", "agent_reply")]
    utc = [SlaEvent(at=e.at.astimezone(UTC), kind=e.kind) for e in berlin]

    for target in ("first_response", "resolution"):
        a = clock(policy, berlin, "2025-04-02T10:00:00+02:00", target)
        b = clock(policy, utc, "2025-04-02T10:00:00+02:00", target)
        assert a == b


def test_clock_events_out_of_order_are_sorted_stably() -> None:
    policy = SlaPolicy(first_response_minutes=60)
    ordered = [ev("09:00", "created"), ev("09:30", "agent_reply")]

    result = clock(policy, ordered[::-1], "10:00", "first_response")

    assert (result.state, result.elapsed_minutes) == ("met", 30)


def test_clock_event_before_created_rejected() -> None:
    with pytest.raises(ValueError, match="comes before 'created'"):
        clock(SlaPolicy(), [ev("09:00", "agent_reply")], "10:00", "resolution")


def test_sla_event_naive_instant_rejected() -> None:
    with pytest.raises(ValueError, match=r"SlaEvent\.at: expected an aware datetime"):
        SlaEvent(at=datetime(2025, 4, 1, 9), kind="created")


def test_sla_event_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match=r"SlaEvent\.kind: expected one of"):
        ev("09:00", "status")


def test_sla_event_status_change_needs_status() -> None:
    with pytest.raises(ValueError, match=r"SlaEvent\.status: expected a status"):
        ev("09:00", "status_changed")
