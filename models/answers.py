"""What the service answers: its dataclasses and the errors a request can meet.

Routes read these; :mod:`models.service` builds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.escalation import RankReason
from models.reasons import Reason
from models.scorer import TimeToBreach


class UnknownTicketError(LookupError):
    """A ticket was asked for by id but the store has no events for it."""

    def __init__(self, index: int, ticket_id: str) -> None:
        self.index = index
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id!r} is not in the store")


class NotYetOpenError(ValueError):
    """The scoring moment lies before the ticket's first event."""

    def __init__(self, index: int, ticket_id: str) -> None:
        self.index = index
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id!r} has no event at or before the moment")


class ModelUnavailableError(RuntimeError):
    """No model bundle could be loaded; ``reason`` says why (see BundleError)."""

    def __init__(self, message: str, *, reason: str = "model_missing") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` reports.

    ``status`` is ``ready`` (store answers, the promoted model is served),
    ``degraded`` (store answers; the list is ranked by the SLA rules alone or
    by an older model, and ``reason`` says why) or ``unavailable`` (the store
    does not answer).
    """

    status: str
    reason: str | None
    model_version: str | None
    wanted_version: str | None
    message: str | None


@dataclass(frozen=True)
class TicketRisk:
    """A scored ticket."""

    ticket_id: str
    probability: float
    band: str
    reasons: list[Reason]
    is_open: bool
    time_to_breach: TimeToBreach | None = None


@dataclass(frozen=True)
class Escalation:
    """One row of the manager's escalation list."""

    rank: int
    ticket_id: str
    why: RankReason
    probability: float | None
    band: str | None
    reasons: list[Reason]
    fields: dict[str, Any]


@dataclass(frozen=True)
class EscalationPage:
    """A page of the ranked list."""

    total: int
    items: list[Escalation]
    model_version: str | None
