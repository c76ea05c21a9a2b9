"""The escalation priority function, on rows worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.escalation import rank

AT = pd.Timestamp("2024-03-04T12:00Z")


def _rows(*tickets: dict[str, object]) -> pd.DataFrame:
    base = {
        "at": AT,
        "priority": "moderate",
        "sla_breached_since": pd.NaT,
        "sla_next_due": pd.NaT,
        "sla_least_share_left": np.nan,
    }
    return pd.DataFrame([{**base, **t} for t in tickets])


def test_rank_puts_breached_low_risk_above_unbreached_high_risk() -> None:
    rows = _rows(
        {"sla_next_due": AT + pd.Timedelta(hours=30), "sla_least_share_left": 0.6},
        {"sla_breached_since": AT - pd.Timedelta(hours=3), "priority": "low"},
    )
    probability = np.array([0.97, 0.02])

    order, reasons = rank(rows, probability, np.array(["high", "low"]))

    assert order.tolist() == [1, 0]
    assert (reasons[1].flag, reasons[1].rule) == ("red", "sla_breached")
    assert reasons[1].explanation == "SLA breached 3 h ago"
    assert reasons[0].rule is None and reasons[0].flag == "amber"
    assert reasons[0].explanation == "expected harm 1.94 = stall risk 97% × stake 2"


def test_rank_floors_then_harm_then_deadline() -> None:
    rows = _rows(
        # 0: harm 0.5 x 4 = 2.0
        {"priority": "critical", "sla_next_due": AT + pd.Timedelta(hours=9)},
        # 1: nearly due (5 % left), due in 1 h
        {"sla_least_share_left": 0.05, "sla_next_due": AT + pd.Timedelta(hours=1)},
        # 2: harm 0.5 x 2 = 1.0, due in 2 h
        {"sla_next_due": AT + pd.Timedelta(hours=2)},
        # 3: harm 0.5 x 2 = 1.0, due in 1 h: wins the tie with 2
        {"sla_next_due": AT + pd.Timedelta(hours=1)},
        # 4: breached longest ago
        {"sla_breached_since": AT - pd.Timedelta(days=3)},
        # 5: breached more recently
        {"sla_breached_since": AT - pd.Timedelta(hours=1)},
    )
    probability = np.full(6, 0.5)

    order, reasons = rank(rows, probability, None)

    assert order.tolist() == [4, 5, 1, 0, 3, 2]
    assert reasons[1].rule == "sla_nearly_due"
    assert reasons[1].explanation == "5% of an SLA target left, due in 1 h"


def test_rank_without_model_orders_by_nearest_deadline() -> None:
    rows = _rows(
        {"sla_next_due": AT + pd.Timedelta(hours=5)},
        {"sla_next_due": AT + pd.Timedelta(hours=2)},
        {},
    )

    order, reasons = rank(rows, None, None)

    assert order.tolist() == [1, 0, 2]
    assert all(r.flag == "green" for r in reasons)


def test_rank_breaks_full_ties_by_ticket_id() -> None:
    due = AT + pd.Timedelta(hours=5)
    rows = _rows(
        {"ticket_id": "T-9", "sla_next_due": due},
        {"ticket_id": "T-10", "sla_next_due": due},
        {"ticket_id": "T-1", "sla_next_due": due},
    )

    order, _ = rank(rows, None, None)

    # String order of the ids: "T-1" < "T-10" < "T-9".
    assert order.tolist() == [2, 1, 0]
