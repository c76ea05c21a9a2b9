"""Record managers' feedback; "not a stall" keeps the prediction and reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.errors import NotFoundError, UnprocessableError
from api.feedback.schemas import FeedbackIn, FeedbackOut
from api.risk.schemas import ReasonOut
from features.alerts.feedback import add_feedback
from models.service import ModelUnavailableError, NotYetOpenError, StallService


class TicketNotFoundError(NotFoundError):
    """No ticket with that id is in the store."""


def require_ticket(service: StallService, ticket_id: str) -> None:
    """Raise a 404 error unless the store holds events of the ticket."""
    if service.backlog.ticket_events(ticket_id).empty:
        raise TicketNotFoundError(f"ticket {ticket_id!r} is not in the store")


def author_of(*, kind: str, name: str) -> str:
    """Name a credential as the audit trail shows it: user:<login> or key:<name>."""
    # The feedback table keeps 200 characters of the author.
    return f"{'user' if kind == 'session' else kind}:{name}"[:200]


def _note(body: FeedbackIn) -> str | None:
    # What the sender says about who acted is kept, as their words, in the note.
    if body.by is None:
        return body.note
    said = f"sent as by {body.by!r}"
    return said if body.note is None else f"{body.note} ({said})"


def record(
    service: StallService,
    *,
    ticket_id: str,
    body: FeedbackIn,
    now: datetime,
    author: str,
) -> FeedbackOut:
    """Store one feedback record for a known ticket, written by ``author``."""
    if body.until is not None and body.until <= now:
        raise UnprocessableError(
            f"snooze until {body.until.isoformat()} is not after now",
            [
                {
                    "loc": ["body", "until"],
                    "message": f"expected an instant after {now.isoformat()}",
                    "type": "until_not_in_future",
                }
            ],
        )
    require_ticket(service, ticket_id)
    entry: dict[str, Any] = {
        "ticket_id": ticket_id,
        "action": body.action,
        "until": body.until,
        "by": author,
        "note": _note(body),
        "recorded_at": now,
        "probability": None,
        "reasons": None,
        "model_version": None,
    }
    if body.action == "not_a_stall":
        try:
            scored, version = service.score_tickets([(ticket_id, None)], at=now)
        except (ModelUnavailableError, NotYetOpenError):
            scored, version = [], None
        if scored:
            entry["probability"] = scored[0].probability
            entry["reasons"] = [vars(r) for r in scored[0].reasons]
            entry["model_version"] = version
    stored = add_feedback(service.backlog.engine, entry)
    reasons = stored["reasons"]
    return FeedbackOut(
        **{k: v for k, v in stored.items() if k != "reasons"},
        reasons=None if reasons is None else [ReasonOut(**r) for r in reasons],
    )
