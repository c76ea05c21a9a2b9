"""Request and response models of the risk-score resource."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from api.errors import shown, shown_list
from features.events import ActorRole, EventKind, Status

Text = Field(default=None, max_length=200)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

#: Batch limits of POST /v1/risk-scores (the body size limit comes first).
MAX_TICKETS_PER_REQUEST = 500
MAX_EVENTS_PER_TICKET = 5_000

#: An ISO 8601 date and time with a UTC offset (RFC 3339 allows a space for T).
_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})"
)


def _iso_text(value: object) -> object:
    # Pydantic alone would also read 1458118800 (or "1458118800") as an epoch.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):
        return value
    raise ValueError(
        "expected an ISO 8601 instant with an offset, such as "
        f"2016-03-16T09:00:00+00:00; got {shown(value)}"
    )


def _within_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("expected an instant between 1970-01-01 and 2200-01-01")
    return value


#: An aware instant within the years the store and the features handle.
Instant = Annotated[
    AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_within_range)
]


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
    events: list[EventIn] | None = Field(
        default=None, min_length=1, max_length=MAX_EVENTS_PER_TICKET
    )

    @field_validator("events")
    @classmethod
    def _event_ids_once(cls, events: list[EventIn] | None) -> list[EventIn] | None:
        """Refuse an event id given twice in one ticket, naming the ids."""
        ids = Counter(e.event_id for e in events or [] if e.event_id is not None)
        twice = sorted(i for i, n in ids.items() if n > 1)
        if twice:
            raise ValueError(
                "event ids given more than once in this ticket: "
                + shown_list(twice)
                + "; expected each event id once"
            )
        return events


class RiskScoresIn(BaseModel):
    """A batch of tickets to score at one moment."""

    model_config = ConfigDict(extra="forbid")

    at: Instant | None = Field(
        default=None, description="Score as of this instant; default: now."
    )
    tickets: list[TicketIn] = Field(min_length=1, max_length=MAX_TICKETS_PER_REQUEST)


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
