"""The first schema: events, imports and rejected live events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from features.store import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables and the event indexes."""
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("ticket_id", sa.String(120), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("actor_role", sa.String(20)),
        sa.Column("requester", sa.String(200)),
        sa.Column("group", sa.String(200)),
        sa.Column("assignee", sa.String(200)),
        sa.Column("status", sa.String(60)),
        sa.Column("priority", sa.String(20)),
        sa.Column("channel", sa.String(20)),
        sa.Column("category", sa.String(200)),
        sa.Column("subcategory", sa.String(200)),
        sa.Column("topic", sa.Text),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_events_ticket_id", "events", ["ticket_id"])
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"])
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("rows_read", sa.BigInteger, nullable=False),
        sa.Column("events_seen", sa.BigInteger, nullable=False),
        sa.Column("events_written", sa.BigInteger, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "rejected_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("rejected_events")
    op.drop_table("imports")
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_index("ix_events_ticket_id", table_name="events")
    op.drop_table("events")
