"""The ceiling for the HTTP benchmark: parse the same request, return a constant.

A minimal FastAPI endpoint at ``POST /v1/risk-scores`` that validates the body
with the service's own pydantic schema (``RiskScoresIn``) and answers a fixed
score, so the gap to stallwatch is the scoring work and nothing else.

Run: ``uvicorn constant_app:app`` with ``bench/`` on the path.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from api.risk.schemas import RiskScoreOut, RiskScoresIn, RiskScoresOut

app = FastAPI()

_AS_OF = datetime(2016, 5, 23, 9, tzinfo=UTC)


@app.post("/v1/risk-scores", response_model=RiskScoresOut)
def post_risk_scores(body: RiskScoresIn) -> RiskScoresOut:
    """Return a fixed score for every ticket of the request."""
    return RiskScoresOut(
        as_of=body.at or _AS_OF,
        model_version="constant",
        scores=[
            RiskScoreOut(
                ticket_id=t.ticket_id,
                probability=0.5,
                risk_band="medium",
                reasons=[],
                is_open=True,
            )
            for t in body.tickets
        ],
    )
