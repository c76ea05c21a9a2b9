"""The FastAPI application: wiring of routes, services and errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.alerts.routes import router as alerts_router
from api.auth.policy import enforce_route_policy
from api.auth.routes import install_access
from api.deps import resolve_now
from api.docs import install_docs
from api.errors import install_error_handlers
from api.escalations.routes import router as escalations_router
from api.events.routes import router as events_router
from api.feedback.routes import router as feedback_router
from api.health.routes import router as health_router
from api.limits import install_body_limit
from api.metrics.routes import router as metrics_router
from api.middleware import RequestContextMiddleware
from api.pages.routes import install_pages
from api.reports.routes import router as reports_router
from api.risk.routes import router as risk_router
from api.tickets.routes import router as tickets_router
from features.access.secret import session_secret
from features.access.verify import AccessGate
from features.sla.desk import load_desk_file
from features.store import create_schema, make_engine
from models.alerts.engine import AlertEngine
from models.alerts.rules import load_rules_file
from models.backlog import Backlog
from models.service import StallService
from stallwatch import __version__
from stallwatch.logs import configure_logging
from stallwatch.settings import Settings, get_settings

log = logging.getLogger("stallwatch.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        create_schema(engine)
        configured = settings.session_secret
        app.state.access = AccessGate(
            engine,
            secret=session_secret(
                configured.get_secret_value() if configured else None,
                settings.session_secret_file,
            ),
            ttl_seconds=settings.access_cache_seconds,
        )
        desk = load_desk_file(settings.sla_desk)
        service = StallService(Backlog(engine, desk), settings.model_dir)
        if settings.alert_rules is not None:
            service.alerts = AlertEngine(
                backlog=service.backlog,
                rules=load_rules_file(settings.alert_rules),
                scorer=service.scorer,
                clock=lambda: resolve_now(settings, None),
            )
        app.state.settings = settings
        app.state.service = service
        scorer = service.scorer()
        service.warm_up()
        log.info(
            "service_started",
            extra={
                "model_version": scorer.version if scorer else None,
                "replay_now": settings.now.isoformat() if settings.now else None,
            },
        )
        yield
        engine.dispose()

    app = FastAPI(
        title="stallwatch",
        version=__version__,
        description="SLA clocks and stall predictions for support tickets.",
        lifespan=lifespan,
        # /docs is served from local files (api/docs.py); ReDoc would need a CDN.
        docs_url=None,
        redoc_url=None,
        # /openapi.json needs a credential like every route (api/auth/routes.py)
        openapi_url=None,
        # every route's key or session is checked against api/auth/policy.py
        dependencies=[Depends(enforce_route_policy)],
    )
    install_error_handlers(app)
    install_body_limit(app, max_bytes=settings.max_body_bytes)
    install_docs(app)
    install_access(app)
    app.include_router(health_router)
    app.include_router(events_router)
    app.include_router(risk_router)
    app.include_router(escalations_router)
    app.include_router(tickets_router)
    app.include_router(reports_router)
    install_pages(app)
    app.include_router(alerts_router)
    app.include_router(feedback_router)
    app.include_router(metrics_router)
    # Outermost: every answer, even a refused body, gets an id and is counted.
    app.add_middleware(RequestContextMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """Build the service in a uvicorn worker process (``--factory``).

    Each of ``uvicorn --workers N`` builds its own app: logging and settings
    come from the environment, as in ``stallwatch serve``.
    """
    settings = get_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    return create_app(settings)
