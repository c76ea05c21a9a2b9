"""Value types of the SLA engine: ticket events in, clock results out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from features.sla.policy import SlaPolicy, Target

ClockState = Literal["none", "running", "paused", "met", "breached"]
SegmentKind = Literal["running", "paused", "outside_hours"]

#: Event kinds the engine understands (the names used across stallwatch).
EVENT_KINDS = frozenset(
    {
        "created",
        "customer_message",
        "agent_reply",
        "internal_note",
        "assigned",
        "status_changed",
        "priority_changed",
        "resolved",
        "reopened",
        "closed",
        "merged",
        "policy_changed",
        "sla_breached",
    }
)


@dataclass(frozen=True)
class SlaEvent:
    """One ticket event as the SLA engine sees it.

    Attributes
    ----------
    at : datetime
        Aware instant of the event, in any zone.
    kind : str
        One of :data:`EVENT_KINDS`.
    status : str or None
        The ticket's new status, if the event carries one (required for
        ``status_changed``).
    group, channel : str or None
        Assigned team and message channel; informational for clocks.
    policy : mapping or None
        Changed policy fields, required for ``policy_changed``.
    """

    at: datetime
    kind: str
    status: str | None = None
    group: str | None = None
    channel: str | None = None
    policy: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(
                f"SlaEvent.at: expected an aware datetime, got {self.at!r}"
            )
        if self.kind not in EVENT_KINDS:
            known = ", ".join(sorted(EVENT_KINDS))
            raise ValueError(
                f"SlaEvent.kind: expected one of {known}, got {self.kind!r}"
            )
        if self.kind == "status_changed" and self.status is None:
            raise ValueError("SlaEvent.status: expected a status for status_changed")
        if self.kind == "policy_changed" and self.policy is None:
            raise ValueError(
                "SlaEvent.policy: expected changed fields for policy_changed"
            )


@dataclass(frozen=True)
class ClockSegment:
    """A stretch of a clock's life and the business minutes inside it.

    ``running`` minutes count towards the target; ``paused`` minutes are business
    minutes that did not count; ``outside_hours`` stretches hold no business time.
    """

    kind: SegmentKind
    start: datetime
    end: datetime
    business_minutes: float


@dataclass(frozen=True)
class ClockSnapshot:
    """The state of an open clock that :mod:`features.sla.batch` rolls forward.

    Valid for any later instant until the ticket's next event.

    Attributes
    ----------
    segment_start : int
        UTC epoch seconds at which the current stretch began: the last resume
        (or the clock start) when running, the pause start when paused.
    elapsed_before_seconds : int
        Business seconds counted before ``segment_start``.
    paused : bool
        Whether the clock is paused since ``segment_start``.
    target_seconds : int
        The target in business seconds.
    reached_at : int or None
        Epoch seconds at which the target was reached, when that lies before
        ``segment_start``.
    """

    segment_start: int
    elapsed_before_seconds: int
    paused: bool
    target_seconds: int
    reached_at: int | None


@dataclass(frozen=True)
class ClockResult:
    """One SLA clock as of an instant.

    Attributes
    ----------
    target : {"first_response", "next_response", "resolution"}
        Which target the clock measures.
    state : {"none", "running", "paused", "met", "breached"}
        ``none`` when there is no target, no clock yet, or the ticket was merged.
    target_minutes : float or None
        Target in business minutes.
    started_at, stopped_at : datetime or None
        UTC instants at which the clock started and stopped.
    due : datetime or None
        UTC instant at which the clock reaches its target given the pauses so
        far; None without a clock or while (or when stopped) paused short of it.
    elapsed_minutes : float or None
        Business minutes counted, pauses left out.
    remaining_minutes : float or None
        Target minus elapsed; negative when overdue.
    breached, warning : bool
        Overdue; open, not overdue and past the policy's warning share.
    segments : tuple of ClockSegment
        The clock's ledger from start to stop (or the asked instant).
    snapshot : ClockSnapshot or None
        Input for the batch engine, for open clocks with a target.
    """

    target: Target
    state: ClockState
    target_minutes: float | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    due: datetime | None = None
    elapsed_minutes: float | None = None
    remaining_minutes: float | None = None
    breached: bool = False
    warning: bool = False
    segments: tuple[ClockSegment, ...] = ()
    snapshot: ClockSnapshot | None = None


@dataclass(frozen=True)
class TicketClocks:
    """All SLA clocks of one ticket as of an instant."""

    at: datetime
    clocks: Mapping[Target, ClockResult]
    policy: SlaPolicy
    calendar_version: str
    merged: bool = False
    status: str | None = None

    def __getitem__(self, target: Target) -> ClockResult:
        return self.clocks[target]
