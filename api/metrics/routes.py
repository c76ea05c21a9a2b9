"""HTTP route of the Prometheus metrics (text exposition format)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.auth.deps import require_scope
from api.deps import service_of
from api.errors import ErrorOut
from features.alerts.outbox import pending_count
from stallwatch.metrics import LiveCollector, render

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
    },
    dependencies=[Depends(require_scope("metrics:read"))],
)
def get_metrics(request: Request) -> Response:
    """Return the service's metrics in Prometheus text format."""
    service = service_of(request)

    def model_version() -> str | None:
        scorer = service.scorer()
        return scorer.version if scorer else None

    live = LiveCollector(
        model_version=model_version,
        outbox_pending=lambda: pending_count(service.backlog.engine),
    )
    return Response(render(live), media_type=CONTENT_TYPE_PLAIN_0_0_4)
