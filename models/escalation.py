"""Escalation priority: SLA floors first, then expected harm.

The rank that ``/v1/escalations`` serves, deterministic and documented:

1. **Breached**: a clock of the ticket's policy has passed its due instant.
   Longest overdue first.
2. **Nearly due**: a running clock has under 10 % of its target left.
   Nearest due instant first.
3. **Expected harm**: stall probability times what is at stake (the priority's
   weight, :data:`STAKE`). Ties, and every ticket when no model is loaded, go
   by the nearest due instant.

Each ticket records which rule or score put it where it is. The classic
"no agent response within 24 hours" rule is a policy (first and next response
targets of 1,440 minutes on a 24/7 calendar; see ``features/sla/desks``) and
ranks through the first floor like any other target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Share of a target left under which a running clock is "nearly due".
FLOOR_SHARE_LEFT = 0.10
#: What a stall costs, by priority; unknown priority weighs as moderate.
STAKE = {"critical": 4.0, "high": 3.0, "moderate": 2.0, "low": 1.0}

_FAR = np.iinfo(np.int64).max


@dataclass(frozen=True)
class RankReason:
    """Which rule or score put a ticket where it is."""

    flag: str
    rule: str | None
    explanation: str


def _epoch(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, utc=True)
    seconds = stamps.astype("datetime64[ns, UTC]").astype("int64") // 1_000_000_000
    return np.where(stamps.isna(), _FAR, seconds)


def _hours(seconds: float) -> str:
    hours = abs(seconds) / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def rank(
    rows: pd.DataFrame, probability: np.ndarray | None, bands: np.ndarray | None
) -> tuple[np.ndarray, list[RankReason]]:
    """Order open tickets for a manager and say why each is where it is.

    Parameters
    ----------
    rows : DataFrame
        Feature rows with the clock summary of
        :func:`models.backlog.with_clocks`: ``at``, ``priority``,
        ``sla_breached_since``, ``sla_next_due``, ``sla_least_share_left``.
    probability : ndarray or None
        Stall probability per row; None when no model is loaded.
    bands : ndarray or None
        Risk band per row.

    Returns
    -------
    order : ndarray of int
        Row positions, first to be escalated first.
    reasons : list of RankReason
        One per row, in the original row order.
    """
    n = len(rows)
    at = _epoch(rows["at"])
    breached_since = _epoch(rows["sla_breached_since"])
    next_due = _epoch(rows["sla_next_due"])
    share_left = rows["sla_least_share_left"].to_numpy(dtype=float)
    breached = breached_since != _FAR
    nearly_due = ~breached & (np.nan_to_num(share_left, nan=1.0) < FLOOR_SHARE_LEFT)
    risk = np.zeros(n) if probability is None else np.asarray(probability)
    stake = rows["priority"].map(STAKE).fillna(STAKE["moderate"]).to_numpy(float)
    harm = risk * stake

    # Tier, then the tier's own key, then the nearest deadline; full ties go
    # by ticket id so a page reads the same after a restart as after updates.
    tier = np.where(breached, 0, np.where(nearly_due, 1, 2))
    key = np.where(breached, breached_since, np.where(nearly_due, next_due, 0))
    ids = (
        rows["ticket_id"].astype(str).to_numpy(dtype=str)
        if "ticket_id" in rows
        else np.arange(n)
    )
    order = np.lexsort((ids, next_due, -np.where(tier == 2, harm, 0.0), key, tier))

    reasons = []
    for i in range(n):
        if breached[i]:
            reasons.append(
                RankReason(
                    "red",
                    "sla_breached",
                    f"SLA breached {_hours(at[i] - breached_since[i])} ago",
                )
            )
        elif nearly_due[i]:
            reasons.append(
                RankReason(
                    "amber",
                    "sla_nearly_due",
                    f"{share_left[i]:.0%} of an SLA target left, due in "
                    f"{_hours(next_due[i] - at[i])}",
                )
            )
        else:
            text = (
                "no model loaded; nearest SLA deadline first"
                if probability is None
                else f"expected harm {harm[i]:.2f} = stall risk {risk[i]:.0%} × "
                f"stake {stake[i]:g}"
            )
            high = bands is not None and bands[i] == "high"
            reasons.append(RankReason("amber" if high else "green", None, text))
    return order, reasons
