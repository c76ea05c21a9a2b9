"""Response models of the escalation list."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.feedback.schemas import FeedbackSummaryOut
from api.risk.schemas import ReasonOut, TimeToBreachOut


class EscalationOut(BaseModel):
    """One ticket on the list, and what put it there."""

    rank: int = Field(ge=1)
    ticket_id: str
    flag: Literal["red", "amber", "green"]
    rule: str | None = Field(
        description="The SLA floor that placed it: sla_breached or sla_nearly_due."
    )
    why: str = Field(description="The rule or score that placed the ticket.")
    probability: float | None
    risk_band: Literal["low", "medium", "high"] | None
    reasons: list[ReasonOut]
    group: str | None
    category: str | None
    subcategory: str | None
    priority: str | None
    status: str | None
    channel: str | None
    age_hours: float
    hours_since_agent_action: float
    handoffs: int
    sla_next_due: datetime | None = Field(
        description="Nearest due instant of a running SLA clock."
    )
    sla_breached_since: datetime | None = Field(
        description="When the first breached clock passed its due instant."
    )
    sla_clocks: dict[str, str] = Field(
        description="State of each SLA target: none, running, paused, met, breached."
    )
    time_to_breach: TimeToBreachOut | None = Field(
        default=None,
        description="Business hours until breach or resolution, whichever comes "
        "first; null when the model has none or a target is already breached.",
    )
    feedback: FeedbackSummaryOut | None = Field(
        default=None,
        description="The latest manager feedback (acknowledged, snoozed until a "
        "past time, not a stall); null when none.",
    )


class EscalationsOut(BaseModel):
    """A page of the ranked list."""

    as_of: datetime
    model_version: str | None
    ranked_by: Literal["sla_rules_and_model", "sla_rules"] = Field(
        description="sla_rules when no model is served (none promoted, or the "
        "bundle is missing or fails its hash check; see /readyz): breached and "
        "nearly due tickets first, then the nearest due instant; no probability."
    )
    total: int
    limit: int
    offset: int
    items: list[EscalationOut]
