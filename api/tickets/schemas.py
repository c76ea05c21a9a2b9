"""Response models of a ticket's SLA clock ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SegmentOut(BaseModel):
    """One stretch of a clock's life."""

    kind: Literal["running", "paused", "outside_hours"]
    start: datetime
    end: datetime
    business_minutes: float


class ClockOut(BaseModel):
    """One SLA clock as of the asked instant."""

    target: Literal["first_response", "next_response", "resolution"]
    state: Literal["none", "running", "paused", "met", "breached"]
    target_minutes: float | None
    started_at: datetime | None
    stopped_at: datetime | None
    due: datetime | None = Field(description="When the clock reaches its target.")
    elapsed_minutes: float | None
    remaining_minutes: float | None
    breached: bool
    warning: bool
    segments: list[SegmentOut]


class TicketSlaOut(BaseModel):
    """Every clock of a ticket, with the ledger that explains its due instant."""

    ticket_id: str
    as_of: datetime
    policy: str | None
    calendar_version: str
    status: str | None
    merged: bool
    clocks: list[ClockOut]
