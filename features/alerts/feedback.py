"""Managers' feedback on flagged tickets: acknowledge, snooze, "not a stall"."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from features.alerts.store import audit_row
from features.alerts.tables import audit_table, feedback_table


def add_feedback(engine: Engine, record: dict[str, Any]) -> dict[str, Any]:
    """Store one feedback record and its audit entry in one transaction.

    Parameters
    ----------
    engine : Engine
        The store.
    record : dict
        ``ticket_id``, ``action``, ``until`` (UTC or None), ``by``, ``note``,
        ``recorded_at`` (UTC), and for "not a stall" the ``probability``,
        ``reasons`` (list of dict) and ``model_version`` at that moment.

    Returns
    -------
    dict
        The stored row, ``id`` included and ``reasons`` decoded.
    """
    row = {**record, "reasons": json.dumps(record.get("reasons"))}
    with engine.begin() as conn:
        new_id = conn.execute(
            feedback_table.insert().returning(feedback_table.c.id), row
        ).scalar_one()
        until = record.get("until")
        why = record["action"] + (f" until {until.isoformat()}" if until else "")
        if record.get("note"):
            why += f": {record['note']}"
        conn.execute(
            audit_table.insert(),
            audit_row(
                ticket_id=record["ticket_id"],
                at=record["recorded_at"],
                kind="feedback",
                who=record["by"],
                why=why,
                detail={"feedback_id": new_id, "action": record["action"]},
            ),
        )
    return {**record, "id": int(new_id)}


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["reasons"] = json.loads(out["reasons"]) if out["reasons"] else None
    return out


def latest_feedback(engine: Engine, *, at: datetime) -> dict[str, dict[str, Any]]:
    """Return each ticket's latest feedback recorded at or before ``at``."""
    f = feedback_table.c
    query = (
        sa.select(feedback_table)
        .where(f.recorded_at <= at)
        .order_by(f.ticket_id, f.recorded_at, f.id)
    )
    with engine.connect() as conn:
        return {row.ticket_id: _decode(row) for row in conn.execute(query)}


def not_a_stall_tickets(engine: Engine) -> set[str]:
    """Return the tickets a manager marked "not a stall"."""
    query = (
        sa.select(feedback_table.c.ticket_id)
        .where(feedback_table.c.action == "not_a_stall")
        .distinct()
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())
