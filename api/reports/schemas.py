"""Response models of the reports; every figure is defined in models.reports."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PeriodOut(BaseModel):
    """The window a report covers and the moment it is seen from."""

    start: datetime = Field(description="Inclusive start of the period.")
    end: datetime = Field(description="Exclusive end of the period.")
    as_of: datetime = Field(description="Events after this instant are ignored.")
    group: str | None
    zone: str = Field(description="Zone of the desk's days and weeks.")


class DayCountOut(BaseModel):
    """Open tickets at the end of one local day."""

    day: str
    open_tickets: int


class BacklogOut(BaseModel):
    """Open tickets per day."""

    period: PeriodOut
    days: list[DayCountOut]


class AgeBucketOut(BaseModel):
    """Open tickets whose business age falls in one bucket."""

    bucket: str
    tickets: int


class OpenAgeOut(BaseModel):
    """Business age of the tickets open just before the period's end."""

    period: PeriodOut
    open_tickets: int
    mean_business_hours: float | None
    median_business_hours: float | None
    p90_business_hours: float | None
    buckets: list[AgeBucketOut]


class FcrOut(BaseModel):
    """First-contact resolution of the tickets first resolved in the period."""

    period: PeriodOut
    resolved: int
    first_contact: int
    rate: float | None
    with_handoff: int
    reopened: int
    several_replies: int


class TargetComplianceOut(BaseModel):
    """One SLA target's outcome for the tickets created in the period."""

    target: str
    met: int
    breached: int
    running: int
    rate: float | None


class SlaComplianceOut(BaseModel):
    """SLA compliance by target."""

    period: PeriodOut
    targets: list[TargetComplianceOut]


class CategorySeriesOut(BaseModel):
    """Open tickets of one category at the end of each week."""

    category: str
    counts: list[int]


class WeeklyCategoriesOut(BaseModel):
    """Open tickets by category, week by week."""

    period: PeriodOut
    weeks: list[str]
    categories: list[CategorySeriesOut]


class PingPongOut(BaseModel):
    """A ticket that returned to groups it had left."""

    ticket_id: str
    returns: int


class HandoffsOut(BaseModel):
    """Hand-offs between groups: ``counts[i][j]`` from group ``i`` to group ``j``."""

    period: PeriodOut
    groups: list[str]
    counts: list[list[int]]
    total: int
    returns: int
    ping_pong_tickets: list[PingPongOut]


class FlagRecordOut(BaseModel):
    """What became of the tickets first shown with one flag."""

    flag: str
    tickets: int
    stalled: int
    not_stalled: int
    still_open: int
    stall_rate: float | None


class ModelRecordOut(BaseModel):
    """The list's record over the period's daily reviews."""

    period: PeriodOut
    reviews: list[str]
    model_version: str | None
    flags: list[FlagRecordOut]
