"""HTTP routes of live ticket events."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import get_service
from api.errors import ErrorOut
from api.events import service as events_service
from api.events.schemas import EventsIn, EventsOut
from models.service import StallService
from stallwatch.metrics import EVENTS

router = APIRouter(prefix="/v1", tags=["events"])


@router.post(
    "/events",
    response_model=EventsOut,
    responses={422: {"model": ErrorOut}},
)
def post_events(
    body: EventsIn, service: StallService = Depends(get_service)
) -> EventsOut:
    """Store live ticket events once each, in any order, and report each one."""
    answer = events_service.ingest(service, request=body)
    EVENTS.labels(outcome="stored").inc(answer.stored)
    EVENTS.labels(outcome="duplicate").inc(answer.duplicates)
    EVENTS.labels(outcome="conflict").inc(answer.conflicts)
    EVENTS.labels(outcome="rejected").inc(answer.rejected)
    return answer
