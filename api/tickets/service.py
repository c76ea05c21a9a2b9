"""Translate ticket SLA queries into calls on the stall service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from api.errors import ApiError, UnprocessableError
from api.tickets.schemas import ClockOut, SegmentOut, TicketSlaOut
from models.service import NotYetOpenError, StallService, UnknownTicketError


class TicketNotFoundError(ApiError):
    """No ticket with that id is in the store."""

    status_code = 404
    code = "not_found"


@contextmanager
def ticket_errors(at: datetime) -> Iterator[None]:
    """Turn an unknown ticket into 404 and a moment before it into 422."""
    try:
        yield
    except UnknownTicketError as exc:
        raise TicketNotFoundError(str(exc)) from exc
    except NotYetOpenError as exc:
        raise UnprocessableError(
            f"{exc} ({at.isoformat()})",
            [
                {
                    "loc": ["query", "at"],
                    "message": "before the ticket's first event",
                    "type": "before_ticket",
                }
            ],
        ) from exc


def ticket_sla(service: StallService, *, ticket_id: str, at: datetime) -> TicketSlaOut:
    """Return a ticket's SLA clocks and ledgers as of ``at``."""
    with ticket_errors(at):
        clocks = service.ticket_sla(ticket_id, at=at)
    return TicketSlaOut(
        ticket_id=ticket_id,
        as_of=clocks.at,
        policy=clocks.policy.name,
        calendar_version=clocks.calendar_version,
        # A merge is final and closes the ticket, whatever came after it.
        status="closed" if clocks.merged else clocks.status,
        merged=clocks.merged,
        clocks=[
            ClockOut(
                target=c.target,
                state=c.state,
                target_minutes=c.target_minutes,
                started_at=c.started_at,
                stopped_at=c.stopped_at,
                due=c.due,
                elapsed_minutes=c.elapsed_minutes,
                remaining_minutes=c.remaining_minutes,
                breached=c.breached,
                warning=c.warning,
                segments=[
                    SegmentOut(
                        kind=s.kind,
                        start=s.start,
                        end=s.end,
                        business_minutes=s.business_minutes,
                    )
                    for s in c.segments
                ],
            )
            for c in clocks.clocks.values()
        ],
    )
