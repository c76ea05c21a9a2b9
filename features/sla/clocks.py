"""The SLA clock ledger: replay one ticket's events and report every clock.

Clocks are kept as timelines (start, stop, the ticket's pauses) separate from
their targets, so a policy change can apply new targets from each open clock's
original start. Rules follow the "sla-case/1" README:

- a pause lasts from a change into a pause status until the next change out;
  a customer message, a resolve or a close ends it;
- resolving or closing stops every clock; ``reopened`` starts a new resolution
  clock; merging removes the ticket from all clocks;
- the first-response clock runs from creation to the first agent reply;
- ``customer_waiting`` follow-up clocks start at a customer message (after the
  first reply, or at creation when there is no first-response target) and stop
  at the next agent reply; ``between_agent_updates`` clocks run from each agent
  reply to the next;
- a clock is breached once it reaches its due instant while open, or when it
  stops after it; a stop exactly at the due instant is in time.

Decisions the README leaves open: a policy change re-targets open clocks only
(stopped clocks keep the target they stopped under); a customer message on a
resolved or closed ticket starts a follow-up clock only if the ticket is then
reopened (at the reopen instant); all instants are floored to whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from features.sla.calendar import BusinessCalendar, from_epoch, to_epoch
from features.sla.ledger import ledger_segments
from features.sla.model import (
    ClockResult,
    ClockSnapshot,
    ClockState,
    SlaEvent,
    TicketClocks,
)
from features.sla.policy import TARGETS, SlaPolicy, Target
from features.sla.replay import ClockRun, TicketReplay


def _clip_pauses(replay: TicketReplay, start: int, end: int) -> list[tuple[int, int]]:
    # The ticket's pauses (including one still open) cut to [start, end].
    pauses = list(replay.pauses)
    if replay.paused_since is not None:
        pauses.append((replay.paused_since, max(end, replay.paused_since)))
    clipped = [(max(a, start), min(b, end)) for a, b in pauses]
    return [(a, b) for a, b in clipped if b > a]


def _evaluate(
    calendar: BusinessCalendar,
    replay: TicketReplay,
    run: ClockRun,
    at: int,
    *,
    with_segments: bool = True,
) -> ClockResult:
    # Timeline of this clock: running stretches between the pauses.
    end = run.stop if run.stop is not None else at
    pauses = _clip_pauses(replay, run.start, end)
    bounds = [run.start, *(x for p in pauses for x in p), end]
    running = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    counted = [int(calendar.business_seconds_between_epoch(a, b)) for a, b in running]
    elapsed = sum(counted)
    stopped = run.stop is not None
    paused_now = run.stopped_paused if stopped else replay.paused_since is not None
    segments = (
        tuple(ledger_segments(calendar, run.start, end, pauses))
        if with_segments
        else ()
    )
    target = run.target_seconds
    assert target is not None

    # Due: where the running stretches reach the target, else a projection.
    due: int | None = None
    acc = 0
    for (a, _), seconds in zip(running, counted, strict=True):
        if acc + seconds >= target:
            due = int(calendar.add_business_seconds_epoch(a, target - acc))
            break
        acc += seconds
    reached = due is not None
    if not reached and not paused_now:
        due = int(calendar.add_business_seconds_epoch(end, target - elapsed))

    # State, breach and warning.
    breached = due is not None and reached and (not stopped or end > due)
    state: ClockState
    if breached:
        state = "breached"
    elif stopped:
        state = "met"
    else:
        state = "paused" if paused_now else "running"
    fraction = replay.policy.warn_at_fraction
    warning = (
        state in ("running", "paused")
        and fraction is not None
        and elapsed >= fraction * target
    )

    # Snapshot for the batch engine (open clocks only).
    snapshot = None
    if not stopped:
        if paused_now:
            assert replay.paused_since is not None
            seg_start, before = max(replay.paused_since, run.start), elapsed
        else:
            seg_start, before = running[-1][0], elapsed - counted[-1]
        reached_before = due if reached and before >= target else None
        snapshot = ClockSnapshot(seg_start, before, paused_now, target, reached_before)

    return ClockResult(
        target=run.target,
        state=state,
        target_minutes=target / 60,
        started_at=from_epoch(run.start),
        stopped_at=from_epoch(run.stop) if stopped and run.stop is not None else None,
        due=from_epoch(due) if due is not None else None,
        elapsed_minutes=elapsed / 60,
        remaining_minutes=(target - elapsed) / 60,
        breached=breached,
        warning=warning,
        segments=segments,
        snapshot=snapshot,
    )


def _clocks_now(
    calendar: BusinessCalendar, replay: TicketReplay, at: int, *, with_segments: bool
) -> dict[Target, ClockResult]:
    # The latest clock of each target, as of ``at``.
    clocks: dict[Target, ClockResult] = {}
    for target in TARGETS:
        runs = replay.runs[target]
        run = runs[-1] if runs else None
        if replay.merged or run is None or run.target_seconds is None:
            clocks[target] = ClockResult(target=target, state="none")
        else:
            clocks[target] = _evaluate(
                calendar, replay, run, at, with_segments=with_segments
            )
    return clocks


def compute_clocks(
    *,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    events: Iterable[SlaEvent],
    at: datetime,
) -> TicketClocks:
    """Return every SLA clock of one ticket as of the instant ``at``.

    Parameters
    ----------
    calendar : BusinessCalendar
        Opening hours in which business minutes are counted.
    policy : SlaPolicy
        The policy in force at creation; ``policy_changed`` events update it.
    events : iterable of SlaEvent
        The ticket's timeline, starting with ``created``. Events are ordered by
        instant (stable, so same-instant events keep their given order); those
        after ``at`` are ignored and those at ``at`` have happened.
    at : datetime
        Aware instant asked about.

    Returns
    -------
    TicketClocks
        One :class:`ClockResult` per target, plus the policy in force.
    """
    at_s = to_epoch(at)
    ordered = sorted(events, key=lambda e: to_epoch(e.at))
    replay = TicketReplay(policy)
    for event in ordered:
        if to_epoch(event.at) > at_s:
            break
        replay.apply(event)

    clocks = _clocks_now(calendar, replay, at_s, with_segments=True)
    return TicketClocks(
        at=from_epoch(at_s),
        clocks=clocks,
        policy=replay.policy,
        calendar_version=calendar.version,
        merged=replay.merged,
        status=replay.status,
    )


def clock_history(
    *,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    events: Iterable[SlaEvent],
) -> list[tuple[int, dict[Target, ClockResult]]]:
    """Replay a ticket once and report every clock after each event instant.

    The same rules as :func:`compute_clocks`, in one pass: entry ``(t, clocks)``
    equals ``compute_clocks(..., at=t)`` without the ledger segments. Open
    clocks carry the snapshot that :func:`features.sla.batch.compute_clock_batch`
    rolls forward to any instant before the next entry.

    Returns
    -------
    list of (int, dict)
        UTC epoch seconds of each distinct event instant, in order, and the
        clock of every target as of that instant.
    """
    ordered = sorted(events, key=lambda e: to_epoch(e.at))
    replay = TicketReplay(policy)
    history: list[tuple[int, dict[Target, ClockResult]]] = []
    for i, event in enumerate(ordered):
        now = to_epoch(event.at)
        replay.apply(event)
        if i + 1 < len(ordered) and to_epoch(ordered[i + 1].at) == now:
            continue
        history.append((now, _clocks_now(calendar, replay, now, with_segments=False)))
    return history


def last_event_clocks(
    *,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    events: Iterable[SlaEvent],
    until: int,
) -> tuple[int, dict[Target, ClockResult]] | None:
    """Return the last entry of :func:`clock_history` at or before ``until``.

    The same answer as ``clock_history(...)[-1]`` restricted to events up to
    ``until`` (UTC epoch seconds), without keeping the entries before it; None
    when no event happened by then.
    """
    ordered = sorted(events, key=lambda e: to_epoch(e.at))
    replay = TicketReplay(policy)
    last = None
    for event in ordered:
        now = to_epoch(event.at)
        if now > until:
            break
        replay.apply(event)
        last = now
    if last is None:
        return None
    return last, _clocks_now(calendar, replay, last, with_segments=False)


def compute_clock(
    *,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    events: Iterable[SlaEvent],
    at: datetime,
    target: Target,
) -> ClockResult:
    """Return one SLA clock of a ticket as of ``at`` (see :func:`compute_clocks`)."""
    result = compute_clocks(calendar=calendar, policy=policy, events=events, at=at)
    return result.clocks[target]
