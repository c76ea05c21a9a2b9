"""Alerts: decisions, the delivery outbox, the audit trail and manager feedback.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from features.store import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("ticket_id", sa.String(120), nullable=False),
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
        sa.UniqueConstraint("key", name="uq_alerts_key"),
    )
    op.create_index("ix_alerts_ticket_id", "alerts", ["ticket_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("ticket_id", sa.String(120), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
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
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_state_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_alert_id", "outbox", ["alert_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("alert_id", sa.Integer),
        sa.Column("outbox_id", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_ticket_id", "audit_log", ["ticket_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(120), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("until", UTCDateTime),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("probability", sa.Float),
        sa.Column("reasons", sa.Text),
        sa.Column("model_version", sa.String(80)),
    )
    op.create_index("ix_feedback_ticket_id", "feedback", ["ticket_id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_feedback_ticket_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_audit_log_ticket_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_outbox_alert_id", table_name="outbox")
    op.drop_index("ix_outbox_state_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_alerts_ticket_id", table_name="alerts")
    op.drop_table("alerts")
