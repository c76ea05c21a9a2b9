"""Response models of the escalation list."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.risk.schemas import ReasonOut


class EscalationOut(BaseModel):
    """One ticket on the list, and what put it there."""

    rank: int = Field(ge=1)
    ticket_id: str
    flag: Literal["red", "amber", "green"]
    rule: str | None = Field(description="The SLA rule that fired, if any.")
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


class EscalationsOut(BaseModel):
    """A page of the ranked list."""

    as_of: datetime
    model_version: str | None
    total: int
    limit: int
    offset: int
    items: list[EscalationOut]
