"""The delivery outbox: claim due messages, record each attempt, list alerts.

Claiming is safe with several workers: on PostgreSQL the candidates are locked
with ``SELECT ... FOR UPDATE SKIP LOCKED``, and on both dialects the claim is a
conditional update that only one worker can win. A claim holds a lease; a
message whose lease ran out while ``sending`` (its worker died) is claimed
again and marked *in doubt*: it is resent with the same message id, so a
receiver can drop the copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.alerts.store import audit_row
from features.alerts.tables import alerts_table, audit_table, outbox_table


@dataclass(frozen=True)
class ClaimedMessage:
    """An outbox row claimed for one delivery attempt.

    Attributes
    ----------
    id, alert_id : int
        Outbox row and its alert.
    key : str
        Unique message key; also the e-mail Message-ID and webhook delivery id.
    ticket_id, channel, recipient, address, subject, body : str
        What to deliver and where.
    attempt : int
        Number of this attempt, from 1 (every claim counts as one).
    in_doubt : bool
        An earlier claim ended without a recorded outcome (its worker died,
        perhaps while sending), so the message may have been delivered.
    token : str
        Claim token; only the claimant can record the outcome.
    held : bool
        The message waited for its recipient's business hours; its alert's
        condition is checked again before it is sent.
    """

    id: int
    alert_id: int
    key: str
    ticket_id: str
    channel: str
    recipient: str
    address: str
    subject: str
    body: str
    attempt: int
    in_doubt: bool
    token: str
    held: bool = False


def _due(now: datetime) -> Any:
    c = outbox_table.c
    return sa.or_(
        sa.and_(c.state == "pending", c.next_attempt_at <= now),
        sa.and_(c.state == "sending", c.lease_until <= now),
    )


def claim_due(
    engine: Engine, *, now: datetime, lease: timedelta, limit: int = 50
) -> list[ClaimedMessage]:
    """Claim up to ``limit`` messages that are due at ``now``.

    Parameters
    ----------
    engine : Engine
        The store.
    now : datetime
        The worker's current instant (UTC).
    lease : timedelta
        How long the claim holds before another worker may take the message.
    limit : int
        At most this many messages.

    Returns
    -------
    list of ClaimedMessage
        Oldest due first.
    """
    c = outbox_table.c
    token = uuid.uuid4().hex
    candidates = (
        sa.select(c.id, c.state)
        .where(_due(now))
        .order_by(c.next_attempt_at, c.id)
        .limit(limit)
    )
    claimed: list[ClaimedMessage] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        for row_id, state in conn.execute(candidates).all():
            won = conn.execute(
                sa.update(outbox_table)
                .where(c.id == row_id)
                .where(_due(now))
                .values(
                    state="sending",
                    lease_until=now + lease,
                    claim_token=token,
                    attempts=c.attempts + 1,
                )
                .returning(*outbox_table.c)
            ).one_or_none()
            if won is None:
                continue
            row = won._mapping
            in_doubt = state == "sending"
            if in_doubt:
                conn.execute(
                    audit_table.insert(),
                    audit_row(
                        ticket_id=row["ticket_id"],
                        at=now,
                        kind="delivery_in_doubt",
                        who="stallwatch-worker",
                        why="claimed earlier by a worker that stopped before "
                        "recording the outcome; resending with the same message id",
                        alert_id=row["alert_id"],
                        outbox_id=row["id"],
                        detail={"attempt": row["attempts"] - 1},
                    ),
                )
            claimed.append(
                ClaimedMessage(
                    id=row["id"],
                    alert_id=row["alert_id"],
                    key=row["key"],
                    ticket_id=row["ticket_id"],
                    channel=row["channel"],
                    recipient=row["recipient"],
                    address=row["address"],
                    subject=row["subject"],
                    body=row["body"],
                    attempt=row["attempts"],
                    in_doubt=in_doubt,
                    token=token,
                    held=row["held_until"] is not None,
                )
            )
    return claimed


def record_attempt(
    engine: Engine,
    message: ClaimedMessage,
    *,
    now: datetime,
    error: str | None,
    permanent: bool = False,
    max_attempts: int = 8,
    backoff: timedelta = timedelta(seconds=30),
) -> str:
    """Record one delivery attempt and move the message on.

    Parameters
    ----------
    engine : Engine
        The store.
    message : ClaimedMessage
        The claimed message.
    now : datetime
        When the attempt finished (UTC).
    error : str or None
        None when delivered; otherwise what went wrong.
    permanent : bool
        The error cannot go away by retrying (e.g. the address was refused).
    max_attempts : int
        After this many failed attempts the message is dead.
    backoff : timedelta
        Wait after the first failure; doubled after each further one.

    Returns
    -------
    str
        The new state: ``sent``, ``pending`` (retry later) or ``dead``;
        ``lost_claim`` if another worker took the message meanwhile.
    """
    values: dict[str, Any] = {"lease_until": None, "claim_token": None}
    if error is None:
        state = "sent"
        values |= {"state": state, "sent_at": now, "last_error": None}
    elif permanent or message.attempt >= max_attempts:
        state = "dead"
        values |= {"state": state, "last_error": error}
    else:
        state = "pending"
        wait = backoff * (2 ** (message.attempt - 1))
        values |= {"state": state, "last_error": error, "next_attempt_at": now + wait}
    why = (
        "delivered"
        if error is None
        else f"failed ({'dead letter' if state == 'dead' else 'will retry'}): {error}"
    )
    detail = {
        "attempt": message.attempt,
        "in_doubt": message.in_doubt,
        "state": state,
        "next_attempt_at": values.get("next_attempt_at"),
    }
    if not _settle(
        engine, message, values, now=now, kind="delivery_attempt", why=why, **detail
    ):
        return "lost_claim"
    return state


def _settle(
    engine: Engine,
    message: ClaimedMessage,
    values: dict[str, Any],
    *,
    now: datetime,
    kind: str,
    why: str,
    **detail: Any,
) -> bool:
    """Update a claimed message and audit it in one transaction.

    False, and nothing written, when another worker holds the claim now.
    """
    c = outbox_table.c
    with engine.begin() as conn:
        updated = conn.execute(
            sa.update(outbox_table)
            .where(c.id == message.id)
            .where(c.claim_token == message.token)
            .values(**values)
        ).rowcount
        if not updated:
            return False
        conn.execute(
            audit_table.insert(),
            audit_row(
                ticket_id=message.ticket_id,
                at=now,
                kind=kind,
                who="stallwatch-worker",
                why=why,
                alert_id=message.alert_id,
                outbox_id=message.id,
                detail={
                    "channel": message.channel,
                    "recipient": message.recipient,
                    "address": message.address,
                    **detail,
                },
            ),
        )
    return True


def alert_of(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    """Return one alert's row (kind, rule, clock, cycle, ...), or None."""
    query = sa.select(alerts_table).where(alerts_table.c.id == alert_id)
    with engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else dict(row._mapping)


def cancel_claimed(
    engine: Engine, message: ClaimedMessage, *, now: datetime, why: str
) -> str:
    """Withdraw a claimed message unsent (its alert no longer holds); audit it.

    Returns
    -------
    str
        ``cancelled``, or ``lost_claim`` if another worker took the message.
    """
    values = {
        "state": "cancelled",
        "lease_until": None,
        "claim_token": None,
        "last_error": why,
    }
    if not _settle(
        engine, message, values, now=now, kind="delivery_cancelled", why=why
    ):
        return "lost_claim"
    return "cancelled"


def list_alerts(
    engine: Engine,
    *,
    state: str | None = None,
    ticket_id: str | None = None,
    rule: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Return alerts, newest first, each with its outbox rows.

    Parameters
    ----------
    engine : Engine
        The store.
    state : str, optional
        Only alerts with at least one outbox row in this state (``pending``,
        ``sending``, ``sent``, ``dead``), or ``held`` for rows waiting for
        their recipient's business hours.
    ticket_id, rule : str, optional
        Filters.
    limit, offset : int
        The page.

    Returns
    -------
    total : int
        How many alerts match.
    alerts : list of dict
        Alert columns plus ``deliveries``, a list of outbox rows.
    """
    a, o = alerts_table.c, outbox_table.c
    where = []
    if ticket_id is not None:
        where.append(a.ticket_id == ticket_id)
    if rule is not None:
        where.append(a.rule == rule)
    if state == "held":
        held = sa.and_(o.state == "pending", o.held_until.is_not(None))
        where.append(sa.exists().where(o.alert_id == a.id).where(held))
    elif state is not None:
        where.append(sa.exists().where(o.alert_id == a.id).where(o.state == state))
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(alerts_table).where(*where)
        ).scalar_one()
        page = conn.execute(
            sa.select(alerts_table)
            .where(*where)
            .order_by(a.decided_at.desc(), a.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        alerts = [dict(r._mapping) for r in page]
        ids = [r["id"] for r in alerts]
        rows = conn.execute(
            sa.select(outbox_table).where(o.alert_id.in_(ids)).order_by(o.id)
        ).all()
    by_alert: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_alert.setdefault(row.alert_id, []).append(dict(row._mapping))
    for alert in alerts:
        alert["deliveries"] = by_alert.get(alert["id"], [])
    return int(total), alerts


def outbox_rows(engine: Engine) -> list[dict[str, Any]]:
    """Return every outbox row, in id order (for checks and tests)."""
    with engine.connect() as conn:
        query = sa.select(outbox_table).order_by(outbox_table.c.id)
        return [dict(r._mapping) for r in conn.execute(query)]


def pending_count(engine: Engine) -> int:
    """Return how many messages still wait for delivery (pending or sending)."""
    c = outbox_table.c
    query = sa.select(sa.func.count()).where(c.state.in_(("pending", "sending")))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
