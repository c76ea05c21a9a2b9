"""Tables of alert decisions, the delivery outbox, the audit trail and feedback.

They live on the event store's :data:`features.store.metadata`; migration
``0003`` creates them.
"""

from __future__ import annotations

import sqlalchemy as sa

from features.store import UTCDateTime, metadata

#: Delivery states of an outbox row; ``cancelled``: held for quiet hours and
#: withdrawn unsent because its alert no longer held when the hours opened.
OUTBOX_STATES = ("pending", "sending", "sent", "dead", "cancelled")
#: Manager feedback actions.
FEEDBACK_ACTIONS = ("acknowledge", "snooze", "not_a_stall")

alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False, unique=True),
    sa.Column("ticket_id", sa.String(120), nullable=False, index=True),
    sa.Column("rule", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("clock", sa.String(20)),
    sa.Column("cycle", sa.String(80), nullable=False),
    sa.Column("flag", sa.String(10)),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=False),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("actions", sa.Text, nullable=False),
    sa.Column("probability", sa.Float),
)

outbox_table = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("ticket_id", sa.String(120), nullable=False),
    sa.Column("key", sa.String(500), nullable=False, unique=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("recipient", sa.String(120), nullable=False),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("held_until", UTCDateTime),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("claim_token", sa.String(40)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Index("ix_outbox_state_due", "state", "next_attempt_at"),
    sa.Index("ix_outbox_alert_id", "alert_id"),
)

audit_table = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(120), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("alert_id", sa.Integer),
    sa.Column("outbox_id", sa.Integer),
    sa.Column("detail", sa.Text, nullable=False),
)

feedback_table = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(120), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("until", UTCDateTime),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("probability", sa.Float),
    sa.Column("reasons", sa.Text),
    sa.Column("model_version", sa.String(80)),
)
