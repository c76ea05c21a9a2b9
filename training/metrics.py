"""Ranking and probability metrics, computed the same way for every model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


def precision_recall_at_k(
    y_true: np.ndarray, score: np.ndarray, k: int
) -> tuple[float, float]:
    """Return precision and recall of the ``k`` highest scores.

    Ties at the k-th score are broken by position, so the result does not
    depend on how a sort orders equal scores.
    """
    y = np.asarray(y_true, dtype=bool)
    if len(y) == 0:
        return float("nan"), float("nan")
    order = np.lexsort((np.arange(len(y)), -np.asarray(score, dtype=float)))
    top = y[order[: min(k, len(y))]]
    positives = y.sum()
    recall = float(top.sum() / positives) if positives else float("nan")
    return float(top.mean()), recall


def discrimination(y_true: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Return PR-AUC (average precision) and ROC-AUC, NaN with one class."""
    y = np.asarray(y_true, dtype=bool)
    if y.all() or not y.any():
        return {"pr_auc": float("nan"), "roc_auc": float("nan")}
    return {
        "pr_auc": float(average_precision_score(y, score)),
        "roc_auc": float(roc_auc_score(y, score)),
    }


def brier(y_true: np.ndarray, probability: np.ndarray) -> float:
    """Return the mean squared error of probabilities against outcomes."""
    y = np.asarray(y_true, dtype=float)
    return float(np.mean((np.asarray(probability, dtype=float) - y) ** 2))


def expected_calibration_error(
    y_true: np.ndarray, probability: np.ndarray, *, bins: int = 10
) -> float:
    """Return the bin-weighted gap between mean probability and outcome rate."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / len(y)) if len(y) else float("nan")


def daily_review(rows: pd.DataFrame, score: np.ndarray, *, k: int) -> dict[str, float]:
    """Precision and recall of a manager's top ``k`` at each daily review.

    Parameters
    ----------
    rows : DataFrame
        Test rows with columns ``moment``, ``at``, ``stalled``.
    score : ndarray
        One score per row.
    k : int
        Tickets a manager reviews per day.
    """
    daily = rows["moment"].to_numpy() == "daily"
    frame = pd.DataFrame(
        {
            "day": rows.loc[daily, "at"].to_numpy(),
            "y": rows.loc[daily, "stalled"].to_numpy(dtype=bool),
            "s": np.asarray(score)[daily],
        }
    )
    precisions, recalls = [], []
    for _, day in frame.groupby("day"):
        if len(day) < k:
            continue
        p, r = precision_recall_at_k(day["y"].to_numpy(), day["s"].to_numpy(), k)
        precisions.append(p)
        recalls.append(r)
    return {
        "daily_precision_at_k": float(np.mean(precisions)) if precisions else np.nan,
        "daily_recall_at_k": float(np.nanmean(recalls)) if recalls else np.nan,
        "review_days": float(len(precisions)),
    }


def evaluate_scores(
    rows: pd.DataFrame, score: np.ndarray, *, k: int
) -> dict[str, float]:
    """Every headline metric of one scorer on one test window.

    Reports over all moments, at each ticket's first moment, and at the daily
    review (see :func:`daily_review`).
    """
    y = rows["stalled"].to_numpy(dtype=bool)
    score = np.asarray(score, dtype=float)
    first = rows["first_moment"].to_numpy(dtype=bool)
    out: dict[str, float] = {}
    for name, mask in (("all", np.ones_like(first)), ("first", first)):
        d = discrimination(y[mask], score[mask])
        p, r = precision_recall_at_k(y[mask], score[mask], k)
        out |= {
            f"{name}_pr_auc": d["pr_auc"],
            f"{name}_roc_auc": d["roc_auc"],
            f"{name}_precision_at_k": p,
            f"{name}_recall_at_k": r,
            f"{name}_prevalence": float(y[mask].mean()) if mask.any() else np.nan,
        }
    out |= daily_review(rows, score, k=k)
    return out
