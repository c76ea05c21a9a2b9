"""Credentials for tests that drive every route as an administrator."""

from __future__ import annotations

from features.access.keys import create_key
from features.store import create_schema, make_engine
from stallwatch.settings import Settings


def admin_headers(settings: Settings) -> dict[str, str]:
    """Store a new admin API key in the settings' store; return its header."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    _, token = create_key(engine, name="test-admin", scopes=["admin"])
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}
