"""Request and response models of live ticket events from a CRM."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from api.errors import clipped, printable
from api.risk.schemas import EventIn

#: Events accepted in one POST /v1/events (the body size limit comes first).
MAX_EVENTS_PER_REQUEST = 1_000
#: The longest event id a CRM may send.
MAX_EVENT_ID = 150


class LiveEventIn(EventIn):
    """One event pushed by a CRM; its id makes a retried delivery harmless."""

    event_id: str = Field(min_length=1, max_length=MAX_EVENT_ID)
    ticket_id: str = Field(min_length=1, max_length=120)
    source: str = Field(default="api", pattern=r"^[a-z0-9_\-]{1,40}$")
    seq: int = Field(
        default=0, ge=0, le=2**53, strict=True, description="Order within one instant."
    )


class EventsIn(BaseModel):
    """A batch of live events; each is checked on its own (see LiveEventIn)."""

    # Any element is let through here, so that one which is not an object (a
    # number, a string, a list, null) is rejected alone by the service rather
    # than failing the whole batch.
    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="Objects of the LiveEventIn shape; a bad one, or an element "
        "that is not an object, is rejected alone, with its reasons, and kept "
        "for inspection.",
    )


def _echo_loc(loc: list[str | int]) -> list[str | int]:
    return [p if isinstance(p, int) else clipped(str(p)) for p in loc]


def _echo_id(event_id: object) -> object:
    # The id as sent, even a rejected one: printable, and no longer than a valid id.
    return clipped(event_id, MAX_EVENT_ID) if isinstance(event_id, str) else event_id


class EventProblemOut(BaseModel):
    """Why an event was rejected."""

    loc: Annotated[list[str | int], BeforeValidator(_echo_loc)]
    message: Annotated[str, BeforeValidator(printable)]


class EventResultOut(BaseModel):
    """What happened to one event of the batch."""

    index: int
    event_id: Annotated[str | None, BeforeValidator(_echo_id)]
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
