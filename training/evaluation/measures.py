"""Metrics of one scorer on one test window: the manager's daily list and beyond.

Every function takes test rows of the snapshot table (columns ``ticket_id``,
``at``, ``moment``, ``first_moment``, ``stalled``, ``breached_at``,
``n_events`` and, with an SLA desk, ``sla_*_used``) and one score per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss as sk_log_loss

from training.metrics import brier, discrimination, expected_calibration_error

#: Stages of a ticket's life at which discrimination is reported.
EVENT_STAGES = ("events_1", "events_2", "events_3", "events_4plus")
SLA_STAGES = ("sla_used_10", "sla_used_25", "sla_used_50")
_SLA_SHARES = {"sla_used_10": 0.10, "sla_used_25": 0.25, "sla_used_50": 0.50}

#: Business hours between two UTC instants, element-wise.
HoursBetween = Callable[[pd.Series, pd.Series], np.ndarray]


def wall_hours(start: pd.Series, end: pd.Series) -> np.ndarray:
    """Return wall-clock hours from ``start`` to ``end`` (no business calendar)."""
    delta = pd.to_datetime(end, utc=True) - pd.to_datetime(start, utc=True)
    return np.asarray(delta.dt.total_seconds() / 3600.0, dtype=float)


def daily_top_k(
    day: np.ndarray, y: np.ndarray, score: np.ndarray, *, k: int
) -> np.ndarray:
    """Mark the ``k`` highest-scored rows of each day.

    Parameters
    ----------
    day : ndarray
        The review the row belongs to (one value per day).
    y, score : ndarray
        Outcome and score per row; ``y`` is unused but keeps the shapes aligned.
    k : int
        Tickets a manager reviews per day. A day with fewer rows reviews all.

    Returns
    -------
    ndarray of bool
        True where the row is in its day's top ``k``. Ties at the k-th score
        go to the earlier row, so the result does not depend on sort order.
    """
    if len(y) != len(score) or len(day) != len(score):
        raise ValueError("day, y and score must have one value per row")
    frame = pd.DataFrame({"day": day, "s": -np.asarray(score, dtype=float)})
    frame["pos"] = np.arange(len(frame))
    order = frame.sort_values(["day", "s", "pos"], kind="stable")
    rank = order.groupby("day", sort=False).cumcount().to_numpy()
    chosen = np.zeros(len(frame), dtype=bool)
    chosen[order["pos"].to_numpy()[rank < k]] = True
    return chosen


def review_precision_recall(
    day: np.ndarray, y: np.ndarray, score: np.ndarray, *, k: int
) -> dict[str, float]:
    """Precision and recall of each day's top ``k``, pooled over the days.

    Precision is stalls caught over tickets reviewed, recall stalls caught over
    stalls on the list that day, both summed over every day of the window.
    ``days_full`` counts the days with at least ``k`` candidates: on the other
    days every ticket is reviewed and all scorers tie.
    """
    y = np.asarray(y, dtype=bool)
    if len(y) == 0:
        nan = float("nan")
        return {"precision": nan, "recall": nan, "days": 0.0, "days_full": 0.0}
    top = daily_top_k(day, y, score, k=k)
    sizes = pd.Series(day).value_counts()
    return {
        "precision": float(y[top].mean()),
        "recall": float(y[top].sum() / y.sum()) if y.any() else float("nan"),
        "days": float(len(sizes)),
        "days_full": float((sizes >= k).sum()),
    }


def lead_time_hours(
    rows: pd.DataFrame, in_top: np.ndarray, *, hours_between: HoursBetween
) -> np.ndarray:
    """Business hours from a caught stall's first day on the list to its breach.

    Parameters
    ----------
    rows : DataFrame
        Review rows with ``ticket_id``, ``at``, ``stalled``, ``breached_at``.
    in_top : ndarray of bool
        Whether each row was on its day's list.
    hours_between : callable
        Business hours between two instants (the desk's calendar).

    Returns
    -------
    ndarray
        One value per stalled ticket that was ever on the list.
    """
    caught = rows[in_top & rows["stalled"].to_numpy(dtype=bool)]
    caught = caught[caught["breached_at"].notna()]
    if caught.empty:
        return np.array([], dtype=float)
    first = caught.groupby("ticket_id").agg(
        listed=("at", "min"), breached=("breached_at", "first")
    )
    return hours_between(first["listed"], first["breached"])


def score_stability(rows: pd.DataFrame, score: np.ndarray) -> float:
    """Mean absolute change of a ticket's score between consecutive events.

    Each ticket's mean change counts once, so long tickets do not dominate;
    tickets with a single event moment are left out.
    """
    events = rows["moment"].to_numpy() == "event"
    frame = pd.DataFrame(
        {
            "ticket": rows["ticket_id"].to_numpy()[events],
            "at": rows["at"].to_numpy()[events],
            "s": np.asarray(score, dtype=float)[events],
        }
    ).sort_values(["ticket", "at"], kind="stable")
    change = frame.groupby("ticket")["s"].diff().abs()
    per_ticket = change.groupby(frame["ticket"]).mean().dropna()
    return float(per_ticket.mean()) if len(per_ticket) else float("nan")


def alerts_per_day(day: np.ndarray, ticket: np.ndarray, in_top: np.ndarray) -> float:
    """Mean number of tickets per day that join the list (absent the day before).

    The first review day is left out: every ticket on it would count as new.
    """
    listed = pd.DataFrame({"day": day[in_top], "ticket": ticket[in_top]})
    days = sorted(pd.unique(listed["day"]))
    if len(days) < 2:
        return float("nan")
    members = listed.groupby("day")["ticket"].agg(set)
    new = [len(members[d] - members[prev]) for prev, d in itertools.pairwise(days)]
    return float(np.mean(new))


def probability_quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Brier score, log loss and expected calibration error (10 equal bins)."""
    y = np.asarray(y, dtype=bool)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    if len(y) == 0:
        nan = float("nan")
        return {"brier": nan, "log_loss": nan, "ece": nan}
    return {
        "brier": brier(y, p),
        "log_loss": float(sk_log_loss(y, p, labels=[False, True])),
        "ece": expected_calibration_error(y, p),
    }


def stage_rows(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Pick one row per ticket for each stage of its life.

    A ticket's row for stage ``events_n`` is its first moment with ``n`` events
    seen (``events_4plus``: four or more); for ``sla_used_x`` its first moment
    with at least x % of an SLA target used. ``first`` is its first moment.

    Returns
    -------
    dict of str to ndarray of int
        Positions into ``rows`` per stage; a stage no ticket reached is empty.
    """
    order = np.lexsort((rows["at"].to_numpy(), rows["ticket_id"].to_numpy()))
    ticket = rows["ticket_id"].to_numpy()[order]
    n_events = rows["n_events"].to_numpy(dtype=float)[order]
    masks = {
        "first": rows["first_moment"].to_numpy(dtype=bool)[order],
        "events_1": n_events == 1,
        "events_2": n_events == 2,
        "events_3": n_events == 3,
        "events_4plus": n_events >= 4,
    }
    used = [c for c in rows.columns if c.startswith("sla_") and c.endswith("_used")]
    if used:
        share = rows[used].max(axis=1).fillna(0.0).to_numpy(dtype=float)[order]
        for name, cut in _SLA_SHARES.items():
            masks[name] = share >= cut
    out: dict[str, np.ndarray] = {}
    for name, mask in masks.items():
        picked = pd.Series(ticket[mask]).duplicated().to_numpy()
        out[name] = order[mask][~picked]
    return out


def stage_discrimination(
    rows: pd.DataFrame, score: np.ndarray, stages: dict[str, np.ndarray]
) -> dict[str, float]:
    """PR-AUC, ROC-AUC, prevalence and ticket count at each stage."""
    y = rows["stalled"].to_numpy(dtype=bool)
    score = np.asarray(score, dtype=float)
    out: dict[str, float] = {}
    for name, positions in stages.items():
        d = discrimination(y[positions], score[positions])
        out[f"stage.{name}.pr_auc"] = d["pr_auc"]
        out[f"stage.{name}.roc_auc"] = d["roc_auc"]
        out[f"stage.{name}.prevalence"] = (
            float(y[positions].mean()) if len(positions) else float("nan")
        )
        out[f"stage.{name}.tickets"] = float(len(positions))
    return out
