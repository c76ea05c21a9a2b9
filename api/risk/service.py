"""Translate risk-score requests into calls on the stall service."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from api.errors import ServiceUnavailableError, UnprocessableError
from api.events.order import before_created, earliest_created
from api.health.status import model_problem
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

log = logging.getLogger("stallwatch.api")


def _check_order(request: RiskScoresIn) -> None:
    """Refuse sent events before their ticket's created event, naming each."""
    details: list[dict[str, Any]] = []
    for index, ticket in enumerate(request.tickets):
        timed = [(ticket.ticket_id, e.kind, e.occurred_at) for e in ticket.events or []]
        for position, message in before_created(timed, earliest_created(timed)).items():
            details.append(
                {
                    "loc": [
                        "body",
                        "tickets",
                        index,
                        "events",
                        position,
                        "occurred_at",
                    ],
                    "message": message,
                    "type": "before_created",
                }
            )
    if details:
        raise UnprocessableError(
            f"{len(details)} sent event(s) come before their ticket's created "
            "event; expected every event at or after it",
            details,
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
    _check_order(request)
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
        # The detail names files of the model store: the log keeps it.
        log.warning(
            "model_unavailable", extra={"error": str(exc), "reason": exc.reason}
        )
        raise ServiceUnavailableError(
            "no model is loaded, so no stall score is given; the escalation list "
            f"ranks by the SLA rules alone ({model_problem(exc.reason, None)})",
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
