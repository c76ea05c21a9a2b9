"""HTTP routes of a ticket's SLA clocks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from api.deps import get_service, get_settings_dep, resolve_now
from api.errors import ErrorOut
from api.risk.schemas import Instant
from api.tickets import service as ticket_service
from api.tickets.schemas import TicketSlaOut
from models.service import StallService
from stallwatch.settings import Settings

router = APIRouter(prefix="/v1", tags=["tickets"])


@router.get(
    "/tickets/{ticket_id:path}/sla",
    response_model=TicketSlaOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_ticket_sla(
    ticket_id: str = Path(min_length=1, max_length=120),
    at: Instant | None = Query(
        default=None, description="Clocks as of this instant; default: now."
    ),
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> TicketSlaOut:
    """Show every SLA clock of a ticket with the ledger behind its due instant."""
    moment = resolve_now(settings, at)
    return ticket_service.ticket_sla(service, ticket_id=ticket_id, at=moment)
