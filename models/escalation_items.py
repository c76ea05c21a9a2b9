"""The rows of one page of the escalation list, as plain values for the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from models.answers import Escalation
from models.escalation import RankReason
from models.reasons import Reason
from models.scorer import TimeToBreach

_FIELDS = ("group", "category", "subcategory", "priority", "status", "channel")


def escalation_items(
    rows: pd.DataFrame,
    page: np.ndarray,
    *,
    offset: int,
    why: Sequence[RankReason],
    probability: np.ndarray | None,
    bands: np.ndarray | None,
    explained: Mapping[int, list[Reason]],
    timed: Mapping[int, TimeToBreach | None],
    feedback: Mapping[str, dict[str, Any]],
) -> list[Escalation]:
    """Return the escalations at positions ``page`` of ``rows``.

    Ranks count from ``offset`` + 1; ``why`` holds each row's rank reason.
    """
    records = rows.iloc[page].to_dict("records")
    return [
        Escalation(
            rank=offset + n + 1,
            ticket_id=str(record["ticket_id"]),
            why=why[int(position)],
            probability=None if probability is None else float(probability[position]),
            band=None if bands is None else str(bands[position]),
            reasons=explained.get(int(position), []),
            fields={
                **{k: _plain(record[k]) for k in _FIELDS},
                "age_hours": round(float(record["age_hours"]), 2),
                "hours_since_agent_action": round(
                    float(record["hours_since_agent_action"]), 2
                ),
                "handoffs": int(record["handoffs"]),
                "sla_next_due": _instant(record["sla_next_due"]),
                "sla_breached_since": _instant(record["sla_breached_since"]),
                "sla_clocks": dict(record["sla_clocks"] or {}),
                "time_to_breach": _plain_time(
                    until_breach(
                        timed.get(int(position)),
                        is_open=True,
                        breached=_instant(record["sla_breached_since"]) is not None,
                    )
                ),
                "feedback": _feedback(feedback.get(str(record["ticket_id"]))),
            },
        )
        for n, (position, record) in enumerate(zip(page, records, strict=True))
    ]


def until_breach(
    value: TimeToBreach | None, *, is_open: bool, breached: bool
) -> TimeToBreach | None:
    """Return the time to breach, None once the ticket is resolved or breached."""
    return value if is_open and not breached else None


def _plain_time(value: TimeToBreach | None) -> dict[str, float] | None:
    return None if value is None else dict(vars(value))


def _feedback(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: record[k] for k in ("action", "until", "by", "note", "recorded_at")}


def _instant(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if value is pd.NA:
        return None
    return str(value)
