"""HTTP routes of the escalation list."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from api.deps import get_service, get_settings_dep, resolve_now
from api.errors import ErrorOut
from api.escalations import service as escalation_service
from api.escalations.schemas import EscalationsOut
from api.risk.schemas import Instant
from models.service import StallService
from stallwatch.settings import Settings

router = APIRouter(prefix="/v1", tags=["escalations"])


@router.get(
    "/escalations",
    response_model=EscalationsOut,
    responses={422: {"model": ErrorOut}},
)
def get_escalations(
    at: Instant | None = Query(
        default=None, description="Show the backlog as it stood at this instant."
    ),
    group: str | None = Query(default=None, min_length=1, max_length=200),
    category: str | None = Query(default=None, min_length=1, max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> EscalationsOut:
    """List open tickets ranked for escalation, with the rule or score behind each."""
    moment: datetime = resolve_now(settings, at)
    return escalation_service.list_escalations(
        service,
        at=moment,
        group=group,
        category=category,
        limit=limit,
        offset=offset,
    )
