"""A one-row counter of stored events, so a version check costs one row read.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``store_version`` and start it at the events already stored."""
    op.create_table(
        "store_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO store_version (id, events) SELECT 1, COUNT(*) FROM events")


def downgrade() -> None:
    """Drop the counter."""
    op.drop_table("store_version")
