"""Translate escalation queries into calls on the stall service."""

from __future__ import annotations

from datetime import datetime

from api.escalations.schemas import EscalationOut, EscalationsOut
from api.risk.schemas import ReasonOut
from models.service import StallService


def list_escalations(
    service: StallService,
    *,
    at: datetime,
    group: str | None,
    category: str | None,
    limit: int,
    offset: int,
) -> EscalationsOut:
    """Return one page of open tickets ranked for escalation."""
    page = service.escalations(
        at=at, group=group, category=category, limit=limit, offset=offset
    )
    return EscalationsOut(
        as_of=at,
        model_version=page.model_version,
        ranked_by="sla_rules" if page.model_version is None else "sla_rules_and_model",
        total=page.total,
        limit=limit,
        offset=offset,
        items=[
            EscalationOut(
                rank=item.rank,
                ticket_id=item.ticket_id,
                flag=item.why.flag,  # type: ignore[arg-type]
                rule=item.why.rule,
                why=item.why.explanation,
                probability=item.probability,
                risk_band=item.band,  # type: ignore[arg-type]
                reasons=[ReasonOut(**vars(r)) for r in item.reasons],
                **item.fields,
            )
            for item in page.items
        ],
    )
