"""Events carry the customer's tier, which SLA policies may match on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``customer_tier`` column."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("customer_tier", sa.String(60)))


def downgrade() -> None:
    """Drop the column again."""
    with op.batch_alter_table("events") as batch:
        batch.drop_column("customer_tier")
