"""Response models of alerts, their deliveries and a ticket's audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

#: cancelled: held for quiet hours, then withdrawn unsent because the alert no
#: longer held when the hours opened (the ticket was resolved, its clock stopped).
DeliveryState = Literal["pending", "sending", "sent", "dead", "cancelled"]


class DeliveryOut(BaseModel):
    """One outbox message of an alert: where it goes and how far it got."""

    id: int
    channel: Literal["email", "webhook", "chat"]
    recipient: str
    address: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    held_until: datetime | None = Field(
        description="Quiet hours: held until the recipient's business hours."
    )
    last_error: str | None
    sent_at: datetime | None


class AlertOut(BaseModel):
    """A decided alert or customer update, and its deliveries."""

    id: int
    ticket_id: str
    rule: str
    kind: Literal["alert", "customer_update"]
    clock: str | None
    cycle: str = Field(description="The SLA cycle (clock@start) or trigger instant.")
    flag: Literal["red", "amber"] | None
    urgent: bool
    decided_at: datetime
    why: str
    actions: list[dict[str, Any]]
    probability: float | None
    state: DeliveryState | Literal["held", "none"] = Field(
        description="dead if any delivery is dead, else held, sending, pending, "
        "or sent when all were delivered."
    )
    deliveries: list[DeliveryOut]


class AlertsOut(BaseModel):
    """A page of alerts, newest first."""

    total: int
    limit: int
    offset: int
    items: list[AlertOut]


class AuditEntryOut(BaseModel):
    """One entry of a ticket's audit trail: what, when, who and why."""

    at: datetime
    kind: str = Field(
        description="alert, customer_update, escalation, delivery_attempt, "
        "delivery_in_doubt or feedback."
    )
    who: str
    why: str
    alert_id: int | None
    outbox_id: int | None
    detail: dict[str, Any]


class AuditOut(BaseModel):
    """A ticket's audit trail, oldest first."""

    ticket_id: str
    entries: list[AuditEntryOut]
