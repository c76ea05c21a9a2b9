"""Fit the time-to-breach model for serving, and measure it on rolling cut-offs.

Measured on each cut-off of :func:`training.split.rolling_splits`: training
knows only what happened before ``known_at`` (tickets still open then are
censored there), the test tickets are those created in the test window whose
true time is observed by the end of the data. The baseline is the median
remaining time per (events seen, last activity) of the finished training
moments, with its 10th and 90th percentiles as the interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.asof import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from features.sla.desk import SlaDesk
from features.sla.features import SLA_FEATURES
from training.bundle import ModelBundle
from training.dataset import build_snapshots
from training.learners import as_matrix, category_levels, ticket_weights
from training.split import DEFAULT_GAP, Split, rolling_splits
from training.text import add_text_features, fit_topic_text, text_columns
from training.time_to_breach import (
    TimeToBreachModel,
    fit_hazard,
    matrix_codes,
    thin_moments,
)
from training.time_to_breach_data import (
    outcome_times,
    resolution_instants,
    window_start,
)
from training.time_to_breach_metrics import (
    INTERVAL,
    baseline_quantiles,
    interval_metrics,
    last_activity,
)

log = logging.getLogger("stallwatch.training")

Matrix = Callable[[pd.DataFrame], pd.DataFrame]


def _validation_mask(
    rows: pd.DataFrame, created: pd.Series, share: float
) -> np.ndarray:
    """Mark the moments of the latest ``share`` of tickets by creation."""
    tickets = created.reindex(rows["ticket_id"].unique()).sort_values(kind="stable")
    n_val = max(int(len(tickets) * share), 1)
    held = set(tickets.index[len(tickets) - n_val :])
    return rows["ticket_id"].isin(held).to_numpy()


def fit_on_rows(
    rows: pd.DataFrame,
    times: pd.DataFrame,
    created: pd.Series,
    *,
    matrix: Matrix,
    n_categorical: int,
    validation_share: float = 0.2,
) -> TimeToBreachModel:
    """Fit the hazard model on snapshot rows and their outcome times.

    Parameters
    ----------
    rows : DataFrame
        Snapshot rows (already thinned).
    times : DataFrame
        From :func:`training.time_to_breach.outcome_times`, aligned with rows.
    created : Series
        Ticket creation instants, indexed by ticket id.
    matrix : callable
        Turns rows into the booster input frame (categoricals first).
    n_categorical : int
        How many leading columns of that frame are categorical.
    validation_share : float
        Latest tickets held out for early stopping.
    """
    frame = matrix(rows)
    return fit_hazard(
        matrix_codes(frame),
        times["ttb_hours"].to_numpy(dtype=float),
        times["ttb_observed"].to_numpy(dtype=bool),
        ticket_weights(rows),
        validation=_validation_mask(rows, created, validation_share),
        features=list(frame.columns),
        categorical=range(n_categorical),
    )


def fit_served_time_to_breach(
    bundle: ModelBundle,
    snapshots: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    desk: SlaDesk | None,
) -> TimeToBreachModel | None:
    """Fit the served hazard model on all history, open tickets censored.

    It reads the same feature matrix as the bundle's stall model. Returns
    None, with a warning, when the history holds too little to fit it.
    """
    censor_at = events["occurred_at"].max()
    entry = window_start(outcomes["created_at"])
    live = (snapshots["at"] < censor_at) & (snapshots["at"] >= entry)
    rows = thin_moments(snapshots[live])
    try:
        times = outcome_times(
            rows,
            resolution_instants(events),
            outcomes["created_at"],
            desk=desk,
            censor_at=censor_at,
        )
        return fit_on_rows(
            rows,
            times,
            outcomes["created_at"],
            matrix=bundle.matrix,
            n_categorical=len(bundle.categorical),
        )
    except ValueError as exc:
        log.warning("time_to_breach_skipped", extra={"reason": str(exc)})
        return None


def _split_metrics(
    snapshots: pd.DataFrame,
    outcomes: pd.DataFrame,
    events: pd.DataFrame,
    resolutions: pd.DataFrame,
    split: Split,
    *,
    desk: SlaDesk | None,
    numeric: Sequence[str],
) -> dict[str, Any]:
    created = outcomes["created_at"]
    known_at, data_end = split.known_at, events["occurred_at"].max()
    ticket_created = created.reindex(snapshots["ticket_id"]).to_numpy()
    before = (ticket_created < known_at) & (snapshots["at"] < known_at).to_numpy()
    pool = snapshots[before]
    in_window = (ticket_created >= split.cutoff) & (ticket_created < split.test_end)
    test = snapshots[in_window]
    # The backlog: tickets created in the gap, still open at the cut-off,
    # scored once at their first moment after it (never in training either).
    in_gap = (ticket_created >= known_at) & (ticket_created < split.cutoff)
    backlog = snapshots[in_gap & (snapshots["at"] >= split.cutoff).to_numpy()]
    backlog = backlog.drop_duplicates("ticket_id")
    result: dict[str, Any] = {"cutoff": split.cutoff.isoformat()}
    if pool.empty or test.empty:
        return result | {"skipped": "no training or no test moments"}

    # Outcome times as known at the cut-off (train) and at the data end (test).
    train = thin_moments(pool)
    train_times = outcome_times(
        train, resolutions, created, desk=desk, censor_at=known_at
    )
    test_times = outcome_times(
        test, resolutions, created, desk=desk, censor_at=data_end
    )
    observed = test_times["ttb_observed"].to_numpy()
    test, test_times = test[observed], test_times[observed]
    if test.empty:
        return result | {"skipped": "no test ticket with an observed outcome"}
    backlog_times = outcome_times(
        backlog, resolutions, created, desk=desk, censor_at=data_end
    )
    observed = backlog_times["ttb_observed"].to_numpy()
    scored = pd.concat([test, backlog[observed]])
    n_test = len(test)

    levels = category_levels(pool, CATEGORICAL_FEATURES)
    text = fit_topic_text(pool)
    columns = [*numeric, *text_columns(text)]

    def matrix(rows: pd.DataFrame) -> pd.DataFrame:
        return as_matrix(add_text_features(rows, text), levels, columns)

    # Variants: censored moments kept (served), dropped, and kept without
    # delayed entry (the extract's long-running early tickets included).
    finished = train_times["ttb_observed"].to_numpy()
    entered = (train["at"] >= window_start(created)).to_numpy()
    test_codes = matrix_codes(matrix(scored))
    predictions: dict[str, np.ndarray] = {}
    variants = {
        "ttb": entered,
        "ttb_dropped": entered & finished,
        "ttb_no_entry": np.ones(len(train), bool),
    }
    for name, keep in variants.items():
        try:
            model = fit_on_rows(
                train[keep],
                train_times[keep],
                created,
                matrix=matrix,
                n_categorical=len(levels),
            )
        except ValueError as exc:
            result[f"{name}_skipped"] = str(exc)
            continue
        predictions[name] = model.quantiles(test_codes, INTERVAL)
        result[f"{name}_horizon_hours"] = float(model.edges[-1])

    # The baseline learns from the finished training moments only.
    if (finished & entered).any():
        keys = pd.DataFrame(
            {"n_events": train["n_events"], "activity": last_activity(train, events)}
        )
        test_keys = pd.DataFrame(
            {"n_events": scored["n_events"], "activity": last_activity(scored, events)}
        )
        hours = train_times["ttb_hours"].to_numpy()
        use = finished & entered
        predictions["baseline"] = baseline_quantiles(keys[use], hours[use], test_keys)

    truth = test_times["ttb_hours"].to_numpy(dtype=float)
    backlog_truth = backlog_times["ttb_hours"].to_numpy(dtype=float)[observed]
    first = test["first_moment"].to_numpy(dtype=bool)
    weights = ticket_weights(test)
    result |= {
        "train_moments": len(train),
        "train_censored_moments": int((~finished & entered).sum()),
        "train_entered_moments": int(entered.sum()),
        "test_tickets": int(test["ticket_id"].nunique()),
        "test_moments": len(test),
        "test_breach_share": float((test_times["ttb_kind"] == "breach").mean()),
        "backlog_tickets": len(backlog_truth),
        "backlog_censored": int((~observed).sum()),
    }
    for name, both in predictions.items():
        predicted = both[:n_test]
        for metric, value in interval_metrics(truth, predicted, weights).items():
            result[f"{name}.{metric}"] = value
        if first.any():
            scores = interval_metrics(truth[first], predicted[first])
            for metric, value in scores.items():
                result[f"{name}.first_{metric}"] = value
        if len(backlog_truth):
            scores = interval_metrics(backlog_truth, both[n_test:])
            for metric, value in scores.items():
                result[f"{name}.backlog_{metric}"] = value
    return result


def time_to_breach_metrics(
    events: pd.DataFrame,
    snapshots: pd.DataFrame,
    outcomes: pd.DataFrame,
    splits: Sequence[Split],
    *,
    desk: SlaDesk | None,
) -> list[dict[str, Any]]:
    """Measure the time-to-breach model on each cut-off, with both comparisons.

    Parameters
    ----------
    events : DataFrame
        The canonical event log.
    snapshots, outcomes : DataFrame
        From :func:`training.dataset.build_snapshots` on ``events``.
    splits : sequence of Split
        From :func:`training.split.rolling_splits`.
    desk : SlaDesk or None
        Business calendar (and SLA features when the snapshots carry them).

    Returns
    -------
    list of dict
        One per cut-off. Keys ``<scorer>.<metric>`` with scorer ``ttb``
        (censored moments used, delayed entry), ``ttb_dropped`` (censored
        moments dropped), ``ttb_no_entry`` (censored used, no delayed entry)
        and ``baseline``; metrics ``mae_hours``, ``median_ae_hours`` and
        ``coverage`` (10th-90th percentile) over every test moment (each
        ticket weighted once), and the same prefixed ``first_`` at each
        ticket's first moment, and prefixed ``backlog_`` on the tickets
        created in the gap and still open at the cut-off, scored once at their
        first moment after it (truth observed by the data end; how many were
        still open then is ``backlog_censored``). A cut-off without data says
        ``skipped``.
    """
    numeric = [*NUMERIC_FEATURES]
    if SLA_FEATURES[0] in snapshots.columns:
        numeric += list(SLA_FEATURES)
    resolutions = resolution_instants(events)
    results = []
    for split in splits:
        result = _split_metrics(
            snapshots,
            outcomes,
            events,
            resolutions,
            split,
            desk=desk,
            numeric=numeric,
        )
        log.info("time_to_breach_evaluated", extra={"cutoff": result["cutoff"]})
        results.append(result)
    return results


def evaluate_time_to_breach(
    events: pd.DataFrame,
    *,
    desk: SlaDesk | None,
    label: Literal["source", "policy"] = "source",
    n_cutoffs: int = 3,
    gap: pd.Timedelta = DEFAULT_GAP,
) -> list[dict[str, Any]]:
    """Build snapshots and rolling splits, then run :func:`time_to_breach_metrics`."""
    snapshots, outcomes = build_snapshots(events, desk=desk, label=label)
    splits = rolling_splits(outcomes, n_cutoffs=n_cutoffs, gap=gap)
    return time_to_breach_metrics(events, snapshots, outcomes, splits, desk=desk)
