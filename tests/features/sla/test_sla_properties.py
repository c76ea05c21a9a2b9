"""Property tests of the SLA engine on random tickets, and batch == scalar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.sla.batch import ClockBatchInput, compute_clock_batch
from features.sla.calendar import BusinessCalendar, round_the_clock, to_epoch
from features.sla.calendar_loader import load_calendar
from features.sla.clocks import compute_clocks
from features.sla.model import SlaEvent
from features.sla.policy import NEXT_RESPONSE_MODES, TARGETS, SlaPolicy

PROPERTY_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

CALENDARS: dict[str, BusinessCalendar] = {
    "berlin-lunch": load_calendar(
        {
            "timezone": "Europe/Berlin",
            "week": {
                d: [["09:00", "12:00"], ["13:00", "17:00"]]
                for d in ("mon", "tue", "wed", "thu", "fri")
            },
            "holidays": ["2025-04-18", "2025-04-21"],
        }
    ),
    "utc-round-the-clock": round_the_clock("UTC"),
    "paris-weekdays": load_calendar(
        {
            "timezone": "Europe/Paris",
            "week": {
                d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
            },
        }
    ),
    "kolkata-night-shift": load_calendar(
        {
            "timezone": "Asia/Kolkata",
            "week": {
                d: [["00:00", "06:00"], ["22:00", "24:00"]]
                for d in ("mon", "tue", "wed", "thu", "fri", "sat")
            },
        }
    ),
}

# A week before Europe's spring-forward night, so tickets cross it.
BASE = to_epoch(datetime(2025, 3, 24, tzinfo=UTC))
PAUSE = "pending"
STEP_KINDS = (
    "customer_message",
    "agent_reply",
    "internal_note",
    "status_pending",
    "status_open",
    "resolved",
    "reopened",
    "closed",
    "policy_changed",
)

policies = st.builds(
    SlaPolicy,
    first_response_minutes=st.sampled_from([None, 0, 30, 120, 480]),
    next_response_minutes=st.sampled_from([None, 60, 240]),
    next_response_mode=st.sampled_from(
        [None, "customer_waiting", "between_agent_updates"]
    ),
    resolution_minutes=st.sampled_from([None, 240, 960, 2880]),
    pause_statuses=st.just(frozenset({PAUSE})),
    warn_at_fraction=st.sampled_from([None, 0.5, 0.8]),
)
steps = st.lists(
    st.tuples(st.integers(0, 2 * 86400), st.sampled_from(STEP_KINDS)), max_size=12
)


def utc(seconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def build_events(created: int, drawn: list[tuple[int, str]]) -> list[SlaEvent]:
    """Turn (gap seconds, step kind) pairs into a ticket timeline."""
    events = [SlaEvent(at=utc(created), kind="created")]
    now = created
    for gap, kind in drawn:
        now += gap
        extra: dict[str, Any] = {}
        if kind.startswith("status_"):
            kind, extra["status"] = "status_changed", kind.removeprefix("status_")
        elif kind == "policy_changed":
            extra["policy"] = {"resolution_minutes": 600 if gap % 2 else None}
        events.append(SlaEvent(at=utc(now), kind=kind, **extra))
    return events


tickets = st.tuples(policies, st.integers(0, 14 * 86400), steps, st.integers(0, 86400))


@PROPERTY_SETTINGS
@given(name=st.sampled_from(sorted(CALENDARS)), ticket=tickets)
def test_property_elapsed_plus_remaining_is_target(
    name: str, ticket: tuple[SlaPolicy, int, list[tuple[int, str]], int]
) -> None:
    policy, offset, drawn, tail = ticket
    events = build_events(BASE + offset, drawn)
    at = events[-1].at + timedelta(seconds=tail)

    result = compute_clocks(
        calendar=CALENDARS[name], policy=policy, events=events, at=at
    )

    for clock in result.clocks.values():
        if clock.state == "none":
            continue
        assert clock.elapsed_minutes is not None
        assert clock.remaining_minutes is not None
        assert clock.elapsed_minutes + clock.remaining_minutes == pytest.approx(
            clock.target_minutes
        )
        if clock.state == "running":
            assert clock.due is not None and clock.due > result.at
            assert clock.remaining_minutes > 0 and not clock.breached


@PROPERTY_SETTINGS
@given(
    name=st.sampled_from(sorted(CALENDARS)),
    ticket=tickets,
    pause_from=st.integers(0, 3 * 86400),
    pause_len=st.integers(1, 3 * 86400),
)
def test_property_pause_never_makes_deadline_earlier(
    name: str,
    ticket: tuple[SlaPolicy, int, list[tuple[int, str]], int],
    pause_from: int,
    pause_len: int,
) -> None:
    policy, offset, drawn, tail = ticket
    drawn = [(gap, kind) for gap, kind in drawn if not kind.startswith("status_")]
    events = build_events(BASE + offset, drawn)
    start = to_epoch(events[0].at) + pause_from
    paused = [
        *events,
        SlaEvent(at=utc(start), kind="status_changed", status=PAUSE),
        SlaEvent(at=utc(start + pause_len), kind="status_changed", status="open"),
    ]
    at = max(events[-1].at, utc(start + pause_len)) + timedelta(seconds=tail)
    calendar = CALENDARS[name]

    plain = compute_clocks(calendar=calendar, policy=policy, events=events, at=at)
    with_pause = compute_clocks(calendar=calendar, policy=policy, events=paused, at=at)

    for target in TARGETS:
        a, b = plain[target], with_pause[target]
        assert a.state == "none" or b.state != "none"
        if a.elapsed_minutes is not None and b.elapsed_minutes is not None:
            assert b.elapsed_minutes <= a.elapsed_minutes
        if a.due is not None and b.due is not None:
            assert b.due >= a.due


@PROPERTY_SETTINGS
@given(
    start=st.integers(to_epoch(datetime(1990, 1, 1, tzinfo=UTC)), 2_500_000_000),
    seconds=st.integers(0, 400 * 86400),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
)
def test_property_round_the_clock_equals_wall_clock(
    start: int, seconds: int, zone: str
) -> None:
    calendar = round_the_clock(zone)
    begin = utc(start)

    assert calendar.add_business_minutes(begin, seconds / 60) == utc(start + seconds)
    assert calendar.business_minutes_between(begin, utc(start + seconds)) == (
        seconds / 60
    )


@PROPERTY_SETTINGS
@given(created=st.integers(0, 365 * 86400), age=st.integers(0, 30 * 86400))
def test_property_round_the_clock_utc_clock_counts_real_minutes(
    created: int, age: int
) -> None:
    policy = SlaPolicy(resolution_minutes=1440)
    events = [SlaEvent(at=utc(BASE + created), kind="created")]

    clock = compute_clocks(
        calendar=CALENDARS["utc-round-the-clock"],
        policy=policy,
        events=events,
        at=utc(BASE + created + age),
    )["resolution"]

    assert clock.elapsed_minutes == age / 60
    assert clock.due == utc(BASE + created + 1440 * 60)


def assert_batch_matches_scalar(
    calendar: BusinessCalendar,
    ticket_list: list[tuple[SlaPolicy, list[SlaEvent]]],
    later: list[int],
) -> int:
    """Compare batch and scalar results for every open clock; return rows."""
    snapshots, expected, fractions, ats = [], [], [], []
    for (policy, events), gap in zip(ticket_list, later, strict=True):
        last = events[-1].at
        now = compute_clocks(calendar=calendar, policy=policy, events=events, at=last)
        then_at = last + timedelta(seconds=gap)
        then = compute_clocks(
            calendar=calendar, policy=policy, events=events, at=then_at
        )
        for target in TARGETS:
            if now[target].snapshot is not None:
                snapshots.append(now[target].snapshot)
                expected.append(then[target])
                fractions.append(now.policy.warn_at_fraction or np.nan)
                ats.append(to_epoch(then_at))

    batch = compute_clock_batch(
        calendar=calendar,
        clocks=ClockBatchInput.from_snapshots(snapshots),
        at=np.asarray(ats, dtype=np.int64),
        warn_at_fraction=np.asarray(fractions, dtype=float),
    )

    for i, clock in enumerate(expected):
        due = batch.due[i]
        got_due = None if np.isnat(due) else utc(int(due.astype(np.int64)))
        assert batch.state[i] == clock.state
        assert got_due == clock.due
        assert batch.elapsed_minutes[i] == clock.elapsed_minutes
        assert batch.remaining_minutes[i] == clock.remaining_minutes
        assert bool(batch.breached[i]) is clock.breached
        assert bool(batch.warning[i]) is clock.warning
    return len(expected)


@PROPERTY_SETTINGS
@given(
    name=st.sampled_from(sorted(CALENDARS)),
    ticket_list=st.lists(tickets, min_size=1, max_size=10),
)
def test_property_batch_equals_scalar(
    name: str, ticket_list: list[tuple[SlaPolicy, int, list[tuple[int, str]], int]]
) -> None:
    built = [(p, build_events(BASE + o, d)) for p, o, d, _ in ticket_list]

    assert_batch_matches_scalar(CALENDARS[name], built, [t[3] for t in ticket_list])


def test_batch_equals_scalar_many_random_tickets(rng: np.random.Generator) -> None:
    calendar = CALENDARS["berlin-lunch"]
    built = []
    for _ in range(400):
        policy = SlaPolicy(
            first_response_minutes=float(rng.choice([30, 120, 480])),
            next_response_minutes=float(rng.choice([60, 240])),
            next_response_mode=NEXT_RESPONSE_MODES[int(rng.integers(2))],
            resolution_minutes=float(rng.choice([240, 960, 2880])),
            pause_statuses=frozenset({PAUSE}),
            warn_at_fraction=0.75,
        )
        drawn = [
            (int(rng.integers(0, 86400)), str(rng.choice(STEP_KINDS[:5])))
            for _ in range(int(rng.integers(0, 8)))
        ]
        built.append(
            (policy, build_events(BASE + int(rng.integers(0, 86400 * 14)), drawn))
        )
    later = [int(g) for g in rng.integers(0, 5 * 86400, size=len(built))]

    rows = assert_batch_matches_scalar(calendar, built, later)

    assert rows > 400


def test_batch_hundred_thousand_clocks_match_calendar_arithmetic(
    rng: np.random.Generator,
) -> None:
    calendar = CALENDARS["paris-weekdays"]
    n = 100_000
    start = BASE + rng.integers(0, 30 * 86400, size=n)
    before = rng.integers(0, 600 * 60, size=n)
    target = rng.choice([-1, 240 * 60, 960 * 60], size=n)
    paused = rng.random(n) < 0.2
    at = start + rng.integers(0, 10 * 86400, size=n)

    batch = compute_clock_batch(
        calendar=calendar,
        clocks=ClockBatchInput.from_arrays(
            segment_start=start,
            elapsed_before_seconds=before,
            paused=paused,
            target_seconds=target,
        ),
        at=at,
        warn_at_fraction=0.8,
    )

    assert batch.state.shape == (n,)
    for i in rng.choice(n, size=200, replace=False):
        if target[i] < 0:
            assert batch.state[i] == "none"
            continue
        counted = (
            0
            if paused[i]
            else calendar.business_minutes_between(utc(int(start[i])), utc(int(at[i])))
        )
        assert batch.elapsed_minutes[i] == pytest.approx(before[i] / 60 + counted)
        if not paused[i] and before[i] < target[i]:
            due = calendar.add_business_minutes(
                utc(int(start[i])), (target[i] - before[i]) / 60
            )
            assert utc(int(batch.due[i].astype(np.int64))) == due


def test_batch_rows_without_target_or_paused_have_no_due() -> None:
    calendar = CALENDARS["utc-round-the-clock"]
    clocks = ClockBatchInput.from_arrays(
        segment_start=np.array([BASE, BASE, BASE]),
        elapsed_before_seconds=np.array([0, 600, 0]),
        paused=np.array([False, True, False]),
        target_seconds=np.array([-1, 3600, 3600]),
    )

    batch = compute_clock_batch(calendar=calendar, clocks=clocks, at=utc(BASE + 1800))

    assert list(batch.state) == ["none", "paused", "running"]
    assert np.isnat(batch.due[:2]).all()
    assert batch.due[2] == np.datetime64(utc(BASE + 3600).replace(tzinfo=None), "s")
    assert np.isnan(batch.elapsed_minutes[0])
    assert list(batch.elapsed_minutes[1:]) == [10, 30]


def test_batch_input_mismatched_shapes_rejected() -> None:
    with pytest.raises(ValueError, match="expected 1-d arrays of one length"):
        ClockBatchInput.from_arrays(
            segment_start=np.array([1, 2]),
            elapsed_before_seconds=np.array([0]),
            paused=np.array([False, False]),
            target_seconds=np.array([60, 60]),
        )


def test_batch_at_before_segment_start_rejected() -> None:
    clocks = ClockBatchInput.from_arrays(
        segment_start=np.array([BASE]),
        elapsed_before_seconds=np.array([0]),
        paused=np.array([False]),
        target_seconds=np.array([60]),
    )

    with pytest.raises(ValueError, match="before a clock's segment_start"):
        compute_clock_batch(
            calendar=CALENDARS["utc-round-the-clock"], clocks=clocks, at=utc(BASE - 1)
        )


def test_snapshot_survives_replace_of_policy_name() -> None:
    # Policy identity does not enter the snapshot: renamed policies give equal rows.
    events = [SlaEvent(at=utc(BASE), kind="created")]
    policy = SlaPolicy(resolution_minutes=60, name="a")
    a = compute_clocks(
        calendar=CALENDARS["utc-round-the-clock"],
        policy=policy,
        events=events,
        at=utc(BASE),
    )
    b = compute_clocks(
        calendar=CALENDARS["utc-round-the-clock"],
        policy=replace(policy, name="b"),
        events=events,
        at=utc(BASE),
    )

    assert a["resolution"].snapshot == b["resolution"].snapshot
