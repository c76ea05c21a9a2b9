"""HTTP routes of alerts (with dead letters) and a ticket's audit trail."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query

from api.alerts import service as alerts_service
from api.alerts.schemas import AlertsOut, AuditOut
from api.deps import get_service
from api.errors import ErrorOut
from models.service import StallService

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get(
    "/alerts",
    response_model=AlertsOut,
    responses={422: {"model": ErrorOut}},
)
def get_alerts(
    state: Literal["pending", "sending", "sent", "dead", "held", "cancelled"]
    | None = Query(
        default=None,
        description="Alerts with a delivery in this state; dead = dead letters, "
        "cancelled = held for quiet hours and withdrawn because the alert no "
        "longer held.",
    ),
    ticket_id: str | None = Query(default=None, min_length=1, max_length=120),
    rule: str | None = Query(default=None, min_length=1, max_length=80),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    service: StallService = Depends(get_service),
) -> AlertsOut:
    """List decided alerts, newest first, with the state of each delivery."""
    return alerts_service.alerts(
        service,
        state=state,
        ticket_id=ticket_id,
        rule=rule,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/tickets/{ticket_id:path}/audit",
    response_model=AuditOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_ticket_audit(
    ticket_id: str = Path(min_length=1, max_length=120),
    service: StallService = Depends(get_service),
) -> AuditOut:
    """Show a ticket's audit trail: alerts, deliveries, escalations, feedback."""
    return alerts_service.audit(service, ticket_id=ticket_id)
