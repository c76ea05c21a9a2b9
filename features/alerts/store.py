"""Write alert decisions with their outbox rows and audit entries, atomically.

An alert is decided at most once per ticket, rule and SLA cycle: its ``key``
is unique, and the outbox rows and audit entries of a decision are written in
the same transaction as the decision, or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from features.alerts.tables import alerts_table, audit_table, outbox_table


@dataclass(frozen=True)
class OutboxMessage:
    """One rendered message of a decision, for one recipient and channel.

    Attributes
    ----------
    channel : {"email", "webhook", "chat"}
        How it is delivered.
    recipient : str
        The recipient's name in the rule file.
    address : str
        E-mail address or URL.
    subject, body : str
        Subject line and body (text for e-mail, JSON for webhooks and chat).
    hold_until : datetime or None
        Quiet hours: not delivered before this UTC instant.
    """

    channel: str
    recipient: str
    address: str
    subject: str
    body: str
    hold_until: datetime | None = None


@dataclass(frozen=True)
class AlertDecision:
    """A rule that fired for a ticket, with what it sends and whom it escalates to.

    Attributes
    ----------
    ticket_id, rule : str
        The ticket and the rule (or customer-update trigger) that fired.
    kind : {"alert", "customer_update"}
        Internal alert or customer-facing status update.
    clock : str or None
        The SLA clock the rule looked at.
    cycle : str
        Identifies the SLA cycle (clock and start instant) or trigger instant;
        with the ticket and rule it forms the unique key.
    flag : {"red", "amber"} or None
        The mark the rule sets.
    urgent : bool
        Urgent alerts ignore quiet hours.
    why : str
        The reason in words.
    actions : list of dict
        Actions asked for (notify, escalate, reassign, raise priority).
    probability : float or None
        Stall probability at the decision, when a model was loaded.
    messages : list of OutboxMessage
        What the outbox delivers.
    escalations : list of (str, str)
        (role, recipient) pairs this alert escalates to.
    """

    ticket_id: str
    rule: str
    kind: str
    clock: str | None
    cycle: str
    flag: str | None
    urgent: bool
    why: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    probability: float | None = None
    messages: list[OutboxMessage] = field(default_factory=list)
    escalations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The unique key: ticket, rule and cycle."""
        return f"{self.ticket_id}|{self.rule}|{self.cycle}"


def _insert_alert(conn: sa.Connection) -> Any:
    # "Insert unless the key exists", returning the new id, on both dialects.
    if conn.dialect.name == "postgresql":
        return (
            postgresql.insert(alerts_table)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(alerts_table.c.id)
        )
    if conn.dialect.name == "sqlite":
        return (
            sqlite.insert(alerts_table)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(alerts_table.c.id)
        )
    raise NotImplementedError(f"database {conn.dialect.name!r} is not supported")


def audit_row(
    *,
    ticket_id: str,
    at: datetime,
    kind: str,
    who: str,
    why: str,
    alert_id: int | None = None,
    outbox_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return one row for the ``audit_log`` table."""
    return {
        "ticket_id": ticket_id,
        "at": at,
        "kind": kind,
        "who": who,
        "why": why,
        "alert_id": alert_id,
        "outbox_id": outbox_id,
        "detail": json.dumps(detail or {}, default=str, sort_keys=True),
    }


def record_decisions(
    engine: Engine, decisions: Sequence[AlertDecision], *, now: datetime
) -> list[int]:
    """Store decisions not yet stored, with their outbox rows and audit entries.

    Parameters
    ----------
    engine : Engine
        The store.
    decisions : sequence of AlertDecision
        What the evaluator decided; a decision whose key is already stored is
        skipped (an alert fires once per ticket, rule and cycle).
    now : datetime
        The evaluation instant (UTC), stored as ``decided_at``.

    Returns
    -------
    list of int
        Ids of the alerts newly stored.
    """
    created: list[int] = []
    if not decisions:
        return created
    with engine.begin() as conn:
        insert = _insert_alert(conn)
        for decision in decisions:
            alert_id = conn.execute(
                insert,
                {
                    "key": decision.key,
                    "ticket_id": decision.ticket_id,
                    "rule": decision.rule,
                    "kind": decision.kind,
                    "clock": decision.clock,
                    "cycle": decision.cycle,
                    "flag": decision.flag,
                    "urgent": decision.urgent,
                    "decided_at": now,
                    "why": decision.why,
                    "actions": json.dumps(decision.actions, sort_keys=True),
                    "probability": decision.probability,
                },
            ).scalar_one_or_none()
            if alert_id is None:
                continue
            created.append(int(alert_id))
            _write_messages(conn, decision, int(alert_id), now)
    return created


def _write_messages(
    conn: sa.Connection, decision: AlertDecision, alert_id: int, now: datetime
) -> None:
    rows = [
        {
            "alert_id": alert_id,
            "ticket_id": decision.ticket_id,
            "key": f"{decision.key}|{m.channel}|{m.recipient}",
            "channel": m.channel,
            "recipient": m.recipient,
            "address": m.address,
            "subject": m.subject,
            "body": m.body,
            "urgent": decision.urgent,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": m.hold_until or now,
            "held_until": m.hold_until,
            "created_at": now,
        }
        for m in decision.messages
    ]
    if rows:
        conn.execute(outbox_table.insert(), rows)
    audit = [
        audit_row(
            ticket_id=decision.ticket_id,
            at=now,
            kind=decision.kind,
            who="stallwatch",
            why=decision.why,
            alert_id=alert_id,
            detail={
                "rule": decision.rule,
                "clock": decision.clock,
                "cycle": decision.cycle,
                "flag": decision.flag,
                "urgent": decision.urgent,
                "actions": decision.actions,
                "probability": decision.probability,
                "recipients": sorted({m.recipient for m in decision.messages}),
                "held_until": min(
                    (m.hold_until for m in decision.messages if m.hold_until),
                    default=None,
                ),
            },
        )
    ]
    audit += [
        audit_row(
            ticket_id=decision.ticket_id,
            at=now,
            kind="escalation",
            who="stallwatch",
            why=f"rule {decision.rule} escalates to {role}: {decision.why}",
            alert_id=alert_id,
            detail={"role": role, "recipient": recipient},
        )
        for role, recipient in decision.escalations
    ]
    conn.execute(audit_table.insert(), audit)


def last_customer_updates(engine: Engine, ticket_ids: Sequence[str]) -> dict[str, Any]:
    """Return when each ticket's latest customer update was decided (UTC)."""
    if not ticket_ids:
        return {}
    query = (
        sa.select(alerts_table.c.ticket_id, sa.func.max(alerts_table.c.decided_at))
        .where(alerts_table.c.kind == "customer_update")
        .where(alerts_table.c.ticket_id.in_(list(ticket_ids)))
        .group_by(alerts_table.c.ticket_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    # max() bypasses the column type on some dialects: read it back as UTC.
    return {t: _utc(at) for t, at in rows}


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def ticket_audit(engine: Engine, ticket_id: str) -> list[dict[str, Any]]:
    """Return a ticket's audit trail, oldest first, ``detail`` decoded."""
    query = (
        sa.select(audit_table)
        .where(audit_table.c.ticket_id == ticket_id)
        .order_by(audit_table.c.at, audit_table.c.id)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows
