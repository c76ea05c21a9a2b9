"""Translate risk-score requests into calls on the stall service."""

from __future__ import annotations

from datetime import datetime

from api.errors import ServiceUnavailableError, UnprocessableError
from api.risk.schemas import (
    ReasonOut,
    RiskScoreOut,
    RiskScoresIn,
    RiskScoresOut,
    TimeToBreachOut,
)
from models.service import (
    ModelUnavailableError,
    NotYetOpenError,
    StallService,
    UnknownTicketError,
)


def score(
    service: StallService, *, request: RiskScoresIn, at: datetime
) -> RiskScoresOut:
    """Score every ticket of the request at ``at``."""
    seen: dict[str, int] = {}
    for index, ticket in enumerate(request.tickets):
        if ticket.ticket_id in seen:
            raise UnprocessableError(
                f"ticket {ticket.ticket_id!r} appears twice in the batch",
                [
                    {
                        "loc": ["body", "tickets", index, "ticket_id"],
                        "message": f"duplicate of tickets[{seen[ticket.ticket_id]}]; "
                        "expected each ticket once",
                        "type": "duplicate_ticket",
                    }
                ],
            )
        seen[ticket.ticket_id] = index
    tickets = [
        (
            t.ticket_id,
            None
            if t.events is None
            else [e.model_dump(mode="python", exclude_none=True) for e in t.events],
        )
        for t in request.tickets
    ]
    try:
        risks, version = service.score_tickets(tickets, at=at)
    except ModelUnavailableError as exc:
        raise ServiceUnavailableError(
            str(exc),
            [
                {
                    "loc": ["model"],
                    "message": "no stall score: the service ranks by the SLA rules "
                    "alone until a model is served (see /readyz)",
                    "type": exc.reason,
                }
            ],
        ) from exc
    except UnknownTicketError as exc:
        raise UnprocessableError(
            f"{exc}; send its events or import it first",
            [
                {
                    "loc": ["body", "tickets", exc.index, "ticket_id"],
                    "message": "unknown ticket id; expected one in the store",
                    "type": "unknown_ticket",
                }
            ],
        ) from exc
    except NotYetOpenError as exc:
        raise UnprocessableError(
            f"{exc} ({at.isoformat()})",
            [
                {
                    "loc": ["body", "at"],
                    "message": f"before the first event of ticket {exc.ticket_id!r}",
                    "type": "before_ticket",
                }
            ],
        ) from exc
    return RiskScoresOut(
        as_of=at,
        model_version=version,
        scores=[
            RiskScoreOut(
                ticket_id=r.ticket_id,
                probability=r.probability,
                risk_band=r.band,  # type: ignore[arg-type]
                reasons=[ReasonOut(**vars(reason)) for reason in r.reasons],
                is_open=r.is_open,
                time_to_breach=None
                if r.time_to_breach is None
                else TimeToBreachOut(**vars(r.time_to_breach)),
            )
            for r in risks
        ],
    )
