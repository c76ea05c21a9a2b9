"""Request and response models of live ticket events from a CRM."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.risk.schemas import EventIn

#: Events accepted in one POST /v1/events (the body size limit comes first).
MAX_EVENTS_PER_REQUEST = 1_000


class LiveEventIn(EventIn):
    """One event pushed by a CRM; its id makes a retried delivery harmless."""

    event_id: str = Field(min_length=1, max_length=150)
    ticket_id: str = Field(min_length=1, max_length=120)
    source: str = Field(default="api", pattern=r"^[a-z0-9_\-]{1,40}$")
    seq: int = Field(default=0, ge=0, le=2**53, description="Order within one instant.")


class EventsIn(BaseModel):
    """A batch of live events; each is checked on its own (see LiveEventIn)."""

    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="Objects of the LiveEventIn shape; a bad one is rejected "
        "alone, with its reasons, and kept for inspection.",
    )


class EventProblemOut(BaseModel):
    """Why an event was rejected."""

    loc: list[str | int]
    message: str


class EventResultOut(BaseModel):
    """What happened to one event of the batch."""

    index: int
    event_id: str | None
    status: Literal["stored", "duplicate", "conflict", "rejected"]
    problems: list[EventProblemOut] = []


class EventsOut(BaseModel):
    """Per-event results and the totals."""

    stored: int
    duplicates: int
    conflicts: int = Field(
        description="Ids already stored with other content; the first is kept."
    )
    rejected: int
    results: list[EventResultOut]
