"""Models of the data behind the manager's pages (the list refreshes from JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Flag = Literal["red", "amber", "green"]
Sort = Literal["rank", "probability", "due", "age"]


class TimeToBreachOut(BaseModel):
    """The predicted business time until the ticket breaches its SLA."""

    median_business_hours: float
    p90_business_hours: float | None


class StallRowOut(BaseModel):
    """One row of the predicted-stall list, ready to print."""

    rank: int
    ticket_id: str
    flag: Flag
    why: str
    probability: float | None
    risk_band: str | None
    reasons: list[str]
    owner: str | None
    group: str | None
    channel: str | None
    category: str | None
    priority: str | None
    status: str | None
    age_hours: float
    countdown: str = Field(description="The SLA countdown in business time.")
    urgency: float = Field(
        description="Business minutes left (negative once breached); sorts the list."
    )
    breached: bool = Field(description="A clock of the ticket's policy is breached.")
    time_to_breach: TimeToBreachOut | None
    feedback: str | None = Field(description="The latest manager's feedback, in words.")


class StallListOut(BaseModel):
    """The predicted-stall list as the page shows it."""

    as_of: datetime
    model_version: str | None
    total: int
    shown: int
    counts: dict[str, int] = Field(description="Shown rows per flag.")
    rows: list[StallRowOut]


class ChoicesOut(BaseModel):
    """Values the list's filters offer."""

    groups: list[str]
    categories: list[str]
    channels: list[str]
