"""Alembic environment: migrate the connection stallwatch hands over."""

from __future__ import annotations

from alembic import context

import features.alerts.tables  # noqa: F401  (the alert tables join metadata)
from features.store import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
