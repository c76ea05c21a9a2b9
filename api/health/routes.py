"""Liveness and readiness of the service; both open, without credentials."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from api.deps import get_service
from api.health.status import model_problem, public_version
from models.service import StallService

router = APIRouter(tags=["health"])
log = logging.getLogger("stallwatch.api")


class HealthOut(BaseModel):
    """Whether the service runs, and which model it serves."""

    status: str
    model_version: str | None


def _headers_only(answer: BaseModel, status_code: int = 200) -> Response:
    """Answer a HEAD as the GET would, with its status and headers, no body.

    The body is rendered as the GET renders it (Pydantic's JSON) only to give
    the same ``content-length``; then it is dropped.
    """
    body = answer.model_dump_json().encode()
    return Response(
        status_code=status_code,
        headers={"content-length": str(len(body))},
        media_type="application/json",
    )


def _health(service: StallService) -> HealthOut:
    scorer = service.scorer()
    return HealthOut(status="ok", model_version=scorer.version if scorer else None)


@router.get("/healthz", response_model=HealthOut)
def healthz(service: StallService = Depends(get_service)) -> HealthOut:
    """Report that the service is up and which model version it serves."""
    return _health(service)


@router.head(
    "/healthz",
    response_class=Response,
    responses={200: {"description": "The service is up (GET /healthz's headers)."}},
)
def healthz_head(service: StallService = Depends(get_service)) -> Response:
    """Answer GET /healthz's status and headers, without a body."""
    return _headers_only(_health(service))


class ReadyOut(BaseModel):
    """Whether the service can answer, and how it ranks."""

    status: Literal["ready", "degraded", "unavailable"] = Field(
        description="ready: the promoted model is served. degraded: the service "
        "answers, but ranks by the SLA rules alone (risk scores answer 503), "
        "keeps an older model, or keeps the copy it loaded of a model whose file "
        "changed on disk (reason model_file_changed). unavailable: the event "
        "store does not answer."
    )
    reason: (
        Literal[
            "model_missing",
            "model_corrupt",
            "model_outside_store",
            "model_file_changed",
            "store_unreachable",
        ]
        | None
    )
    ranked_by: Literal["sla_rules_and_model", "sla_rules"] | None
    model_version: str | None = Field(description="The model served, if any.")
    wanted_version: str | None = Field(
        description="The version the model store's CURRENT pointer names."
    )
    message: str | None


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "The store does not answer."}},
)
def readyz(
    response: Response, service: StallService = Depends(get_service)
) -> ReadyOut:
    """Report readiness: 200 when ready or degraded, 503 when the store is down."""
    answer = _readiness(service)
    if answer.status == "unavailable":
        response.status_code = 503
    return answer


@router.head(
    "/readyz",
    response_class=Response,
    responses={
        200: {"description": "Ready or degraded (GET /readyz's headers)."},
        503: {"description": "The store does not answer."},
    },
)
def readyz_head(service: StallService = Depends(get_service)) -> Response:
    """Answer GET /readyz's status and headers, without a body."""
    answer = _readiness(service)
    return _headers_only(answer, 503 if answer.status == "unavailable" else 200)


def _readiness(service: StallService) -> ReadyOut:
    state = service.readiness()
    if state.message is not None:
        # The store's own words may name host paths: the log keeps them.
        log.debug("readiness", extra={"reason": state.reason, "error": state.message})
    version = public_version(state.reason, state.wanted_version)
    ranked_by = "sla_rules" if state.model_version is None else "sla_rules_and_model"
    return ReadyOut(
        status=state.status,  # type: ignore[arg-type]
        reason=state.reason,  # type: ignore[arg-type]
        ranked_by=None if state.status == "unavailable" else ranked_by,  # type: ignore[arg-type]
        model_version=state.model_version,
        wanted_version=version,
        message=None if state.message is None else model_problem(state.reason, version),
    )
