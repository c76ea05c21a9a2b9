"""Time to breach: a discrete-time hazard model on LightGBM, censoring-aware.

The event is the ticket's SLA outcome: the first of its breach and its
resolution (entering ``resolved`` or ``closed``). The stall probability says
which of the two is likely; this model says when, in the desk's business
hours. Each prediction moment becomes one *person-period* row per business-hour
bin it lived through: a bin it survived is a 0, the bin its outcome falls in
is a 1, and a ticket still open when the data (or a training cut-off) ends
contributes only the bins it survived, never an outcome. A binary LightGBM
learns the hazard of each bin given the moment's features; the survival curve
is the running product of one minus the hazards, and its quantiles are the
median and 90th percentile served beside the stall risk.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

log = logging.getLogger("stallwatch.training")

#: Number of business-hour bins of the hazard, before merging equal edges.
N_BINS = 24
#: The served quantiles: median and 90th percentile.
SERVED_QUANTILES = (0.5, 0.9)
#: Most moments of one ticket that training expands into person-period rows.
MAX_MOMENTS_PER_TICKET = 4
#: Name of the bin column appended to the feature matrix.
BIN_FEATURE = "ttb_bin"

TTB_PARAMS: dict[str, object] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "max_cat_threshold": 32,
    "seed": 7,
    "num_threads": 2,
    "verbosity": -1,
}
MAX_ROUNDS = 600
EARLY_STOPPING = 30


def bin_edges(hours: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Return upper bin edges in business hours from quantiles of ``hours``.

    The last edge is the horizon: time beyond it is treated as censored there,
    and a quantile beyond it is reported as the horizon.
    """
    positive = hours[np.isfinite(hours) & (hours > 0)]
    if positive.size == 0:
        raise ValueError("no positive durations to place business-hour bins on")
    levels = np.linspace(1.0 / n_bins, 0.995, n_bins)
    edges = np.unique(np.round(np.quantile(positive, levels), 2))
    return edges[edges > 0].astype(float)


def expand_person_period(
    hours: np.ndarray, observed: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand moments into one row per business-hour bin they lived through.

    Bin ``k`` covers ``(edges[k-1], edges[k]]`` (the first starts at 0). An
    observed outcome at ``d`` gives 0-rows for the bins before the one holding
    ``d`` and a 1-row for that bin. A censored moment (or an outcome after the
    last edge) gives 0-rows for the bins it survived whole, and no 1-row.

    Returns
    -------
    rows : ndarray of int
        Index of the moment each person-period row comes from.
    bins : ndarray of int
        The bin of each row.
    labels : ndarray of int
        1 where the outcome happened in that bin.
    """
    hours = np.maximum(np.asarray(hours, dtype=float), 0.0)
    observed = np.asarray(observed, dtype=bool)
    event = observed & (hours <= edges[-1])
    outcome_bin = np.searchsorted(edges, hours, side="left")
    survived = np.searchsorted(edges, hours, side="right")
    count = np.where(event, outcome_bin + 1, np.minimum(survived, len(edges)))
    rows = np.repeat(np.arange(len(hours)), count)
    starts = np.cumsum(count) - count
    bins = np.arange(len(rows)) - np.repeat(starts, count)
    labels = (event[rows] & (bins == outcome_bin[rows])).astype(int)
    return rows, bins, labels


def survival_quantiles(
    survival: np.ndarray,
    edges: np.ndarray,
    quantiles: Sequence[float],
    *,
    interpolate: bool = True,
) -> np.ndarray:
    """Read quantiles of the time to outcome off survival curves.

    Parameters
    ----------
    survival : ndarray, shape (n, K)
        Probability of no outcome by the end of each bin.
    edges : ndarray, shape (K,)
        Upper bin edges, business hours.
    quantiles : sequence of float
        E.g. 0.5 for the median: the first time ``1 - S(t) >= q``.
    interpolate : bool
        Interpolate linearly inside the bin; otherwise its upper edge.

    Returns
    -------
    ndarray, shape (n, len(quantiles))
        Business hours; the last edge where the curve never gets there.
    """
    n, width = survival.shape
    before = np.hstack([np.ones((n, 1)), survival[:, :-1]])
    lower = np.concatenate([[0.0], edges[:-1]])
    out = np.empty((n, len(quantiles)))
    for j, q in enumerate(quantiles):
        target = 1.0 - q
        hit = survival <= target
        reached = hit.any(axis=1)
        k = np.where(reached, hit.argmax(axis=1), width - 1)
        s_hi, s_lo = before[np.arange(n), k], survival[np.arange(n), k]
        value = edges[k].astype(float)
        if interpolate:
            share = (s_hi - target) / np.maximum(s_hi - s_lo, 1e-12)
            value = lower[k] + (edges[k] - lower[k]) * np.clip(share, 0.0, 1.0)
        out[:, j] = np.where(reached, value, edges[-1])
    return out


def matrix_codes(matrix: pd.DataFrame) -> np.ndarray:
    """Return a booster input frame as floats, categories as their codes."""
    columns = []
    for name in matrix.columns:
        column = matrix[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(float)
            columns.append(np.where(codes < 0, np.nan, codes))
        else:
            columns.append(column.to_numpy(dtype=float))
    return np.column_stack(columns) if columns else np.zeros((len(matrix), 0))


@dataclass
class TimeToBreachModel:
    """A fitted hazard model: bins, booster and the matrix columns it reads."""

    booster: lgb.Booster
    edges: np.ndarray
    features: list[str]
    card: dict[str, Any] = field(default_factory=dict)

    def hazards(
        self, codes: np.ndarray, *, num_threads: int | None = None
    ) -> np.ndarray:
        """Return the hazard of each bin, shape (n, K), from matrix codes.

        ``num_threads`` overrides LightGBM's threads (1 for a single ticket).
        """
        n, width = codes.shape[0], len(self.edges)
        if n == 0:
            return np.zeros((0, width))
        stacked = np.repeat(codes, width, axis=0)
        bins = np.tile(np.arange(width, dtype=float), n)[:, None]
        options: dict[str, Any] = {}
        if num_threads is not None:
            options["num_threads"] = num_threads
        raw = self.booster.predict(np.hstack([stacked, bins]), **options)
        return np.asarray(raw, dtype=float).reshape(n, width)

    def quantiles(
        self,
        codes: np.ndarray,
        quantiles: Sequence[float] = SERVED_QUANTILES,
        *,
        num_threads: int | None = None,
    ) -> np.ndarray:
        """Return business hours to the outcome at each quantile, per row."""
        hazards = self.hazards(codes, num_threads=num_threads)
        survival = np.cumprod(1.0 - hazards, axis=1)
        return survival_quantiles(survival, self.edges, quantiles)


def thin_moments(
    rows: pd.DataFrame, *, per_ticket: int = MAX_MOMENTS_PER_TICKET, seed: int = 7
) -> pd.DataFrame:
    """Keep each ticket's first moment and at most ``per_ticket - 1`` others.

    Expanding every moment of a large log into bins would not fit two cores;
    a random few per ticket keep every stage of its life represented.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    shuffled = rows.iloc[order]
    rank = shuffled.groupby("ticket_id").cumcount().to_numpy()
    first = shuffled["first_moment"].to_numpy(dtype=bool)
    keep = first | (rank < per_ticket - 1)
    kept = shuffled[keep]
    return kept.sort_index()


def fit_hazard(
    codes: np.ndarray,
    hours: np.ndarray,
    observed: np.ndarray,
    weights: np.ndarray,
    *,
    validation: np.ndarray,
    features: list[str],
    categorical: Sequence[int],
    n_bins: int = N_BINS,
    params: dict[str, object] | None = None,
    rounds: int | None = None,
) -> TimeToBreachModel:
    """Fit the discrete-time hazard on person-period rows.

    Parameters
    ----------
    codes : ndarray, shape (n, p)
        Feature rows from :func:`matrix_codes`.
    hours, observed : ndarray, shape (n,)
        From :func:`outcome_times`.
    weights : ndarray, shape (n,)
        Moment weights (a ticket counts once).
    validation : ndarray of bool, shape (n,)
        Moments held out for early stopping.
    features : list of str
        Names of the ``p`` columns.
    categorical : sequence of int
        Positions of the categorical columns.
    n_bins : int
        Bins before equal edges merge.
    params : dict, optional
        LightGBM parameters that replace those of :data:`TTB_PARAMS`.
    rounds : int, optional
        Fit exactly this many rounds instead of early stopping.
    """
    edges = bin_edges(hours, n_bins)

    def dataset(mask: np.ndarray, reference: lgb.Dataset | None) -> lgb.Dataset:
        rows, bins, labels = expand_person_period(hours[mask], observed[mask], edges)
        matrix = np.hstack([codes[mask][rows], bins[:, None].astype(float)])
        return lgb.Dataset(
            matrix,
            labels,
            weight=weights[mask][rows],
            feature_name=[*features, BIN_FEATURE],
            categorical_feature=list(categorical),
            reference=reference,
            free_raw_data=True,
        )

    train_set = dataset(~validation, None)
    valid_set = dataset(validation, train_set)
    booster = lgb.train(
        {**TTB_PARAMS, **(params or {})},
        train_set,
        num_boost_round=rounds or MAX_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[] if rounds else [lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    card = {
        "bins": len(edges),
        "horizon_business_hours": float(edges[-1]),
        "moments": len(hours),
        "observed_moments": int(observed.sum()),
        "censored_moments": int((~observed).sum()),
        "person_period_rows": int(train_set.num_data()),
        "rounds": int(booster.best_iteration or booster.current_iteration()),
    }
    log.info("time_to_breach_fitted", extra=card)
    return TimeToBreachModel(
        booster=booster, edges=edges, features=list(features), card=card
    )
