"""Request-scoped access to the service objects built at start-up."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from models.service import StallService
from stallwatch.settings import Settings


def service_of(request: Request) -> StallService:
    """Return the stall service built at start-up."""
    service: StallService = request.app.state.service
    return service


# The dependencies are coroutines: FastAPI runs a plain function dependency in
# its thread pool, a hop per dependency per request for an attribute read.


async def get_service(request: Request) -> StallService:
    """Return the stall service built at start-up (a route dependency)."""
    return service_of(request)


async def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was built with (a route dependency)."""
    settings: Settings = request.app.state.settings
    return settings


def resolve_now(settings: Settings, at: datetime | None) -> datetime:
    """Return the moment to answer for: asked, replayed, or the wall clock."""
    if at is not None:
        return at.astimezone(UTC)
    if settings.now is not None:
        now = settings.now
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return datetime.now(UTC)
