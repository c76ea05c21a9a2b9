"""HTTP routes of the risk-score resource."""

from __future__ import annotations

from functools import partial

import anyio
from fastapi import APIRouter, Depends

from api.deps import get_service, get_settings_dep, resolve_now
from api.errors import ErrorOut
from api.risk import service as risk_service
from api.risk.schemas import RiskScoresIn, RiskScoresOut
from models.service import StallService
from stallwatch.metrics import RISK_SCORES
from stallwatch.settings import Settings

router = APIRouter(prefix="/v1", tags=["risk"])

#: Scoring is CPU-bound Python: a few threads at a time finish sooner than
#: forty threads taking turns at the interpreter lock.
_SCORING = anyio.CapacityLimiter(1)


@router.post(
    "/risk-scores",
    response_model=RiskScoresOut,
    responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def post_risk_scores(
    body: RiskScoresIn,
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> RiskScoresOut:
    """Score the stall risk of one ticket or a batch, with reasons."""
    at = resolve_now(settings, body.at)
    score = partial(risk_service.score, service, request=body, at=at)
    answer = await anyio.to_thread.run_sync(score, limiter=_SCORING)
    RISK_SCORES.inc(len(answer.scores))
    return answer
