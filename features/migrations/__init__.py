"""Alembic migrations of the event store, run by ``features.store.create_schema``."""
