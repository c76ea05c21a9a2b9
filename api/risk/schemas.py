"""Request and response models of the risk-score resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from features.events import ActorRole, EventKind, Status

Text = Field(default=None, max_length=200)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _within_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("expected an instant between 1970-01-01 and 2200-01-01")
    return value


#: An aware instant within the years the store and the features handle.
Instant = Annotated[AwareDatetime, AfterValidator(_within_range)]


def _no_nul(value: object) -> object:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a NUL character, which text fields cannot hold")
    return value


class EventIn(BaseModel):
    """One ticket event as a CRM sends it."""

    model_config = ConfigDict(extra="forbid")
    _text_without_nul = field_validator("*")(_no_nul)

    event_id: str | None = Field(default=None, max_length=200)
    occurred_at: Instant
    kind: EventKind
    actor: str | None = Text
    actor_role: ActorRole | None = None
    requester: str | None = Text
    customer_tier: str | None = Field(default=None, max_length=60)
    group: str | None = Text
    assignee: str | None = Text
    status: Status | None = None
    priority: Literal["critical", "high", "moderate", "low"] | None = None
    channel: (
        Literal["email", "web_form", "chat", "phone", "social", "api", "other"] | None
    ) = None
    category: str | None = Text
    subcategory: str | None = Text
    topic: str | None = Field(default=None, max_length=2_000)


class TicketIn(BaseModel):
    """A ticket to score: its events, or only its id when the store has it."""

    model_config = ConfigDict(extra="forbid")
    _text_without_nul = field_validator("ticket_id")(_no_nul)

    ticket_id: str = Field(min_length=1, max_length=120)
    events: list[EventIn] | None = Field(default=None, min_length=1, max_length=5_000)


class RiskScoresIn(BaseModel):
    """A batch of tickets to score at one moment."""

    model_config = ConfigDict(extra="forbid")

    at: Instant | None = Field(
        default=None, description="Score as of this instant; default: now."
    )
    tickets: list[TicketIn] = Field(min_length=1, max_length=500)


class ReasonOut(BaseModel):
    """A reason behind a score, in the desk's words."""

    text: str
    family: str
    contribution: float = Field(description="Push on the log-odds of a stall.")


class TimeToBreachOut(BaseModel):
    """When the ticket's SLA outcome is expected, in the desk's business hours."""

    median_business_hours: float = Field(
        ge=0.0, description="Median business hours until breach or resolution."
    )
    p90_business_hours: float = Field(
        ge=0.0, description="90th percentile of the same; capped at the horizon."
    )


class RiskScoreOut(BaseModel):
    """One ticket's stall risk."""

    ticket_id: str
    probability: float = Field(ge=0.0, le=1.0)
    risk_band: Literal["low", "medium", "high"]
    reasons: list[ReasonOut]
    is_open: bool
    time_to_breach: TimeToBreachOut | None = Field(
        default=None,
        description="Business hours until the ticket breaches its SLA or is "
        "resolved, whichever comes first; null when the model has none, or "
        "once the ticket is closed or an SLA target is breached.",
    )


class RiskScoresOut(BaseModel):
    """Scores for a batch, with the moment and the model used."""

    as_of: datetime
    model_version: str
    scores: list[RiskScoreOut]
