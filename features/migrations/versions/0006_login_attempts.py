"""Login attempts per user name, so every worker throttles password guessing.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from features.store import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``login_attempts`` with its two indexes."""
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name_sha256", sa.String(64), nullable=False),
        sa.Column("attempted_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_login_attempts_name_sha256",
        "login_attempts",
        ["name_sha256", "attempted_at"],
    )
    op.create_index(
        "ix_login_attempts_attempted_at", "login_attempts", ["attempted_at"]
    )


def downgrade() -> None:
    """Drop the table and its indexes."""
    op.drop_index("ix_login_attempts_attempted_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_name_sha256", table_name="login_attempts")
    op.drop_table("login_attempts")
