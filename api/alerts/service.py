"""Read alerts, their deliveries and a ticket's audit trail from the store."""

from __future__ import annotations

import json
from typing import Any

from api.alerts.schemas import AlertOut, AlertsOut, AuditEntryOut, AuditOut, DeliveryOut
from api.feedback.service import TicketNotFoundError
from features.alerts.outbox import list_alerts
from features.alerts.store import ticket_audit
from models.service import StallService


def _state(deliveries: list[dict[str, Any]]) -> str:
    states = {d["state"] for d in deliveries}
    if not states:
        return "none"
    if "dead" in states:
        return "dead"
    if any(d["state"] == "pending" and d["held_until"] for d in deliveries):
        return "held"
    for state in ("sending", "pending"):
        if state in states:
            return state
    return "cancelled" if states == {"cancelled"} else "sent"


def alerts(
    service: StallService,
    *,
    state: str | None,
    ticket_id: str | None,
    rule: str | None,
    limit: int,
    offset: int,
) -> AlertsOut:
    """Return one page of alerts with their deliveries."""
    total, rows = list_alerts(
        service.backlog.engine,
        state=state,
        ticket_id=ticket_id,
        rule=rule,
        limit=limit,
        offset=offset,
    )
    items = [
        AlertOut(
            **{
                k: v
                for k, v in row.items()
                if k not in ("key", "actions", "deliveries")
            },
            actions=json.loads(row["actions"]),
            state=_state(row["deliveries"]),  # type: ignore[arg-type]
            deliveries=[DeliveryOut(**d) for d in row["deliveries"]],
        )
        for row in rows
    ]
    return AlertsOut(total=total, limit=limit, offset=offset, items=items)


def audit(service: StallService, *, ticket_id: str) -> AuditOut:
    """Return a ticket's audit trail; 404 when the ticket is unknown."""
    entries = ticket_audit(service.backlog.engine, ticket_id)
    if not entries and service.backlog.ticket_events(ticket_id).empty:
        raise TicketNotFoundError(f"ticket {ticket_id!r} is not in the store")
    return AuditOut(
        ticket_id=ticket_id,
        entries=[
            AuditEntryOut(
                **{k: v for k, v in e.items() if k not in ("id", "ticket_id")}
            )
            for e in entries
        ],
    )
