"""Liveness of the service."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import get_service
from models.service import StallService

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """Whether the service runs, and which model it serves."""

    status: str
    model_version: str | None


@router.get("/healthz", response_model=HealthOut)
def healthz(service: StallService = Depends(get_service)) -> HealthOut:
    """Report that the service is up and which model version it serves."""
    scorer = service.scorer()
    return HealthOut(status="ok", model_version=scorer.version if scorer else None)
