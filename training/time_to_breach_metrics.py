"""Measures for time-to-outcome predictions, and the median-remaining baseline.

The baseline is what EVALUATION.md names: the median remaining time per
(events seen, last activity) of finished training moments, with their 10th
and 90th percentiles as its interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: The evaluated interval: 10th to 90th percentile, a nominal 80 % interval.
INTERVAL = (0.1, 0.5, 0.9)


def last_activity(rows: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Return each moment's last event kind and status, e.g. ``assigned|open``."""
    moments = rows[["ticket_id", "at"]].assign(_row=np.arange(len(rows)))
    moments["at"] = moments["at"].astype("datetime64[ns, UTC]")
    moments["ticket_id"] = moments["ticket_id"].astype(str)
    kinds = events[["ticket_id", "occurred_at", "kind"]].copy()
    kinds["ticket_id"] = kinds["ticket_id"].astype(str)
    kinds["occurred_at"] = kinds["occurred_at"].astype("datetime64[ns, UTC]")
    kinds["kind"] = kinds["kind"].astype(str)
    joined = pd.merge_asof(
        moments.sort_values("at", kind="stable"),
        kinds.sort_values("occurred_at", kind="stable"),
        left_on="at",
        right_on="occurred_at",
        by="ticket_id",
        direction="backward",
    ).sort_values("_row")
    status = rows["status"].astype("object").fillna("none").astype(str).to_numpy()
    return pd.Series(
        joined["kind"].fillna("none").astype(str).to_numpy() + "|" + status,
        index=rows.index,
    )


def baseline_quantiles(
    train_keys: pd.DataFrame,
    train_hours: np.ndarray,
    test_keys: pd.DataFrame,
    quantiles: Sequence[float] = INTERVAL,
) -> np.ndarray:
    """Quantiles of the training times per key, falling back to coarser keys.

    A test row takes the quantiles of the training rows with the same
    ``n_events`` and ``activity``; failing that, the same ``n_events``; failing
    that, all training rows.

    Returns
    -------
    ndarray, shape (len(test_keys), len(quantiles))
    """
    train = train_keys[["n_events", "activity"]].assign(hours=train_hours)
    out = np.full((len(test_keys), len(quantiles)), np.nan)
    for keys in (["n_events", "activity"], ["n_events"]):
        table = train.groupby(keys)["hours"].quantile(list(quantiles)).unstack()
        index = (
            pd.MultiIndex.from_frame(test_keys[keys])
            if len(keys) > 1
            else pd.Index(test_keys[keys[0]])
        )
        found = table.reindex(index).to_numpy()
        fill = np.isnan(out[:, 0]) & ~np.isnan(found[:, 0])
        out[fill] = found[fill]
    missing = np.isnan(out[:, 0])
    out[missing] = np.quantile(train_hours, list(quantiles))
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def interval_metrics(
    true_hours: np.ndarray,
    predicted: np.ndarray,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Score predicted (low, median, high) hours against the true hours.

    Returns
    -------
    dict
        ``mae_hours`` and ``median_ae_hours`` of the median, and
        ``coverage`` (share of true times inside ``[low, high]``), weighted.
    """
    true_hours = np.asarray(true_hours, dtype=float)
    w = np.ones(len(true_hours)) if weights is None else np.asarray(weights, float)
    error = np.abs(predicted[:, 1] - true_hours)
    inside = (predicted[:, 0] <= true_hours) & (true_hours <= predicted[:, 2])
    return {
        "mae_hours": float(np.average(error, weights=w)),
        "median_ae_hours": _weighted_median(error, w),
        "coverage": float(np.average(inside, weights=w)),
    }


#: Column order and headings of :func:`ttb_table`.
TTB_SCORERS = {
    "ttb": "hazard, censored kept",
    "ttb_dropped": "hazard, censored dropped",
    "ttb_no_entry": "hazard, no delayed entry",
    "baseline": "median remaining",
}
_ROWS = {
    "mae_hours": "MAE, business hours",
    "median_ae_hours": "median abs. error, business hours",
    "coverage": "10-90 % interval coverage",
}
_POPULATIONS = {
    "first_": "first moment",
    "": "all moments",
    "backlog_": "open at the cut-off",
}


def ttb_table(results: Sequence[dict[str, Any]]) -> str:
    """Return a Markdown table: mean ± standard deviation over the cut-offs.

    Parameters
    ----------
    results : sequence of dict
        From :func:`training.time_to_breach_eval.time_to_breach_metrics`.
    """
    frame = pd.DataFrame([r for r in results if "skipped" not in r])
    header = "| metric | " + " | ".join(TTB_SCORERS.values()) + " |"
    lines = [header, "|---" * (len(TTB_SCORERS) + 1) + "|"]
    for prefix, population in _POPULATIONS.items():
        for metric, name in _ROWS.items():
            cells = []
            for scorer in TTB_SCORERS:
                column = f"{scorer}.{prefix}{metric}"
                if column not in frame or frame[column].isna().all():
                    cells.append("n/a")
                    continue
                values = frame[column].astype(float)
                digits = 3 if metric == "coverage" else 1
                cells.append(
                    f"{values.mean():.{digits}f} ± {values.std(ddof=0):.{digits}f}"
                )
            lines.append(f"| {name}, {population} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
