"""Provisional escalation ranking: one SLA rule first, then model risk.

The rule is the classic one: an open ticket that has had no agent response for
24 hours, and is not waiting on the customer or a third party, is red. Red
tickets come first, then tickets by stall probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.events import WAITING_STATUSES

NO_RESPONSE_HOURS = 24.0


@dataclass(frozen=True)
class RankReason:
    """Which rule or score put a ticket where it is."""

    flag: str
    rule: str | None
    explanation: str


def no_response_rule(rows: pd.DataFrame) -> np.ndarray:
    """Return True where the 24-hour no-agent-response rule fires."""
    silent = rows["hours_since_agent_action"].to_numpy(dtype=float)
    waiting = rows["status"].isin([str(s) for s in WAITING_STATUSES]).to_numpy()
    return (silent >= NO_RESPONSE_HOURS) & ~waiting


def rank(
    rows: pd.DataFrame, probability: np.ndarray | None, bands: np.ndarray | None
) -> tuple[np.ndarray, list[RankReason]]:
    """Order tickets for a manager and say why each is where it is.

    Parameters
    ----------
    rows : DataFrame
        Feature rows of open tickets.
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
    red = no_response_rule(rows)
    silent = rows["hours_since_agent_action"].to_numpy(dtype=float)
    risk = np.zeros(len(rows)) if probability is None else probability
    # Red first, then by risk, then the longest silence.
    order = np.lexsort((-silent, -risk, ~red))

    reasons = []
    for i in range(len(rows)):
        if red[i]:
            reasons.append(
                RankReason(
                    flag="red",
                    rule="no_agent_response_24h",
                    explanation=(
                        f"no agent response for {silent[i]:.0f} hours "
                        f"(rule: {NO_RESPONSE_HOURS:.0f}-hour response)"
                    ),
                )
            )
        elif bands is not None and bands[i] == "high":
            reasons.append(
                RankReason(
                    flag="amber",
                    rule=None,
                    explanation=f"stall risk {risk[i]:.0%} (high band)",
                )
            )
        else:
            text = (
                "no model loaded"
                if probability is None
                else f"stall risk {risk[i]:.0%}"
            )
            reasons.append(RankReason(flag="green", rule=None, explanation=text))
    return order, reasons
