"""Remaining time on the reduced Helpdesk log: the papers' split beside a strict one.

Tax et al. (2017) and the benchmark of Verenich et al. (2019) split the reduced
Helpdesk log in file order: the first two thirds of the cases (the file is
ordered by case id) train, the last third tests. Every prefix of a test case
is scored: the remaining time is the time from its last event to the case's
last event, in calendar days. This module reproduces that setup and then runs
the same model under a strict temporal split with a gap (EVALUATION.md rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.time_to_breach_metrics import baseline_quantiles

#: Columns of the reduced log.
COLUMNS = ("CaseID", "ActivityID", "CompleteTimestamp")
#: Activity codes of the reduced log.
ACTIVITIES = tuple(range(1, 10))
#: Share of cases that train, in both protocols.
TRAIN_SHARE = 2.0 / 3.0
#: Gap between training knowledge and the temporal test cases.
DEFAULT_GAP = pd.Timedelta(days=28)
_DAY = pd.Timedelta(days=1)

REMAINING_PARAMS: dict[str, object] = {
    "objective": "l1",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "seed": 7,
    "num_threads": 2,
    "verbosity": -1,
}
MAX_ROUNDS = 1_000
EARLY_STOPPING = 50

FEATURES = (
    "prefix_length",
    "last_activity",
    "previous_activity",
    *(f"count_{a}" for a in ACTIVITIES),
    "elapsed_days",
    "days_since_previous",
    "weekday",
    "hour",
)


def load_reduced_log(path: str | Path) -> pd.DataFrame:
    """Read the reduced Helpdesk log, keeping its file order.

    Returns
    -------
    DataFrame
        ``case_id`` (int), ``activity`` (int), ``at`` (naive timestamp, the
        file's wall-clock time) and ``line`` (data line number from 1).
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; expected {COLUMNS}")
    at = pd.to_datetime(raw["CompleteTimestamp"], format="%Y-%m-%d %H:%M:%S")
    case = pd.to_numeric(raw["CaseID"], errors="coerce")
    activity = pd.to_numeric(raw["ActivityID"], errors="coerce")
    bad = case.isna() | activity.isna()
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise ValueError(f"{path}, line {line}: CaseID and ActivityID must be integers")
    return pd.DataFrame(
        {
            "case_id": case.astype(int),
            "activity": activity.astype(int),
            "at": at,
            "line": np.arange(1, len(raw) + 1),
        }
    )


def prefix_rows(log: pd.DataFrame) -> pd.DataFrame:
    """Return one row per prefix of every case, lengths 1 to n - 1.

    The full trace is left out: its remaining time is zero by definition.
    Features are aggregates of the prefix (activity counts, the last two
    activities, elapsed time); the target ``remaining_days`` runs from the
    prefix's last event to the case's last event.
    """
    log = log.sort_values(["case_id", "at", "line"], kind="stable")
    by_case = log.groupby("case_id", sort=False)
    out = pd.DataFrame(
        {
            "case_id": log["case_id"].to_numpy(),
            "at": log["at"].to_numpy(),
            "prefix_length": by_case.cumcount().to_numpy() + 1,
            "last_activity": log["activity"].to_numpy(),
            "previous_activity": by_case["activity"].shift(1).to_numpy(),
        }
    )
    for a in ACTIVITIES:
        hit = (log["activity"] == a).astype(int)
        out[f"count_{a}"] = hit.groupby(log["case_id"]).cumsum().to_numpy()
    start = by_case["at"].transform("min").to_numpy()
    end = by_case["at"].transform("max").to_numpy()
    previous = by_case["at"].shift(1).to_numpy()
    out["case_start"], out["case_end"] = start, end
    out["elapsed_days"] = (out["at"] - out["case_start"]) / _DAY
    out["days_since_previous"] = ((out["at"] - previous) / _DAY).fillna(0.0)
    out["weekday"] = out["at"].dt.day_of_week
    out["hour"] = out["at"].dt.hour + out["at"].dt.minute / 60.0
    out["remaining_days"] = (out["case_end"] - out["at"]) / _DAY
    size = by_case["at"].transform("size").to_numpy()
    return out[out["prefix_length"] < size].reset_index(drop=True)


def file_order_split(
    log: pd.DataFrame, train_share: float = TRAIN_SHARE
) -> tuple[list[int], list[int]]:
    """Split cases in order of first appearance in the file (the papers' split)."""
    cases = log.sort_values("line")["case_id"].drop_duplicates().tolist()
    n_train = int(len(cases) * train_share)
    return cases[:n_train], cases[n_train:]


@dataclass(frozen=True)
class TemporalSplit:
    """A strict split by time: cases start after ``cutoff`` to test."""

    train: list[int]
    test: list[int]
    cutoff: pd.Timestamp
    known_at: pd.Timestamp


def temporal_split(
    log: pd.DataFrame,
    *,
    train_share: float = TRAIN_SHARE,
    gap: pd.Timedelta = DEFAULT_GAP,
) -> TemporalSplit:
    """Split by case start: test cases start at or after the cut-off.

    The cut-off is the start of the case at ``train_share`` of all cases by
    start time. Training knows only ``known_at = cutoff - gap``: the cases
    that had finished by then (a case still running is not a training
    example; a regression cannot use it).
    """
    bounds = log.groupby("case_id")["at"].agg(["min", "max"]).sort_values("min")
    cutoff = bounds["min"].iloc[int(len(bounds) * train_share)]
    known_at = cutoff - gap
    train = bounds.index[bounds["max"] <= known_at].tolist()
    test = bounds.index[bounds["min"] >= cutoff].tolist()
    return TemporalSplit(train=train, test=test, cutoff=cutoff, known_at=known_at)


def fit_remaining(train: pd.DataFrame, validation_share: float = 0.2) -> lgb.Booster:
    """Fit LightGBM (absolute error) on prefix rows, early-stopped on later cases.

    Parameters
    ----------
    train : DataFrame
        From :func:`prefix_rows`, in the protocol's case order (latest last).
    validation_share : float
        Share of the training cases, the last ones, held out for early stopping.
    """
    cases = train["case_id"].drop_duplicates().tolist()
    held = set(cases[len(cases) - int(len(cases) * validation_share) :])
    is_val = train["case_id"].isin(held).to_numpy()
    columns = list(FEATURES)

    def dataset(mask: np.ndarray, reference: lgb.Dataset | None) -> lgb.Dataset:
        return lgb.Dataset(
            train.loc[mask, columns].astype(float),
            train.loc[mask, "remaining_days"].to_numpy(),
            categorical_feature=["last_activity", "previous_activity"],
            reference=reference,
        )

    train_set = dataset(~is_val, None)
    return lgb.train(
        REMAINING_PARAMS,
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[dataset(is_val, train_set)],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )


def score_protocol(
    rows: pd.DataFrame, train_cases: list[int], test_cases: list[int]
) -> dict[str, Any]:
    """Fit on the training cases' prefixes; return MAE in days on the test's.

    Returns
    -------
    dict
        Counts, and ``mae_days`` of ``lightgbm``, ``median_baseline`` (median
        remaining time per prefix length and last activity, falling back to
        prefix length, then to all) and ``mean_baseline`` (the global mean).
    """
    order = {case: i for i, case in enumerate(train_cases)}
    train = rows[rows["case_id"].isin(list(order))]
    train = train.iloc[
        np.argsort(train["case_id"].map(order).to_numpy(), kind="stable")
    ]
    test = rows[rows["case_id"].isin(set(test_cases))]
    truth = test["remaining_days"].to_numpy()

    booster = fit_remaining(train)
    predicted = booster.predict(test[list(FEATURES)].astype(float))

    def keys(part: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"n_events": part["prefix_length"], "activity": part["last_activity"]}
        )

    target = train["remaining_days"].to_numpy()
    median = baseline_quantiles(keys(train), target, keys(test), [0.5])[:, 0]
    return {
        "train_cases": len(train_cases),
        "test_cases": len(test_cases),
        "train_prefixes": len(train),
        "test_prefixes": len(test),
        "rounds": booster.best_iteration or booster.current_iteration(),
        "test_mean_remaining_days": float(truth.mean()),
        "lightgbm.mae_days": float(np.abs(np.asarray(predicted) - truth).mean()),
        "median_baseline.mae_days": float(np.abs(median - truth).mean()),
        "mean_baseline.mae_days": float(np.abs(target.mean() - truth).mean()),
    }


def compare_protocols(
    path: str | Path, *, gap: pd.Timedelta = DEFAULT_GAP
) -> dict[str, dict[str, Any]]:
    """Run the file-order protocol and the strict temporal one on one log.

    Returns
    -------
    dict
        ``"file_order"`` and ``"temporal"``: each from :func:`score_protocol`,
        the temporal one with its ``cutoff``, ``known_at`` and ``gap_days``;
        ``"log"``: cases, events, the mean case duration in days, how many
        test cases the two protocols share, and the rank correlation of case
        id with case start.
    """
    log = load_reduced_log(path)
    rows = prefix_rows(log)
    train, test = file_order_split(log)
    file_order = score_protocol(rows, train, test)
    split = temporal_split(log, gap=gap)
    temporal = score_protocol(rows, split.train, split.test) | {
        "cutoff": split.cutoff.isoformat(),
        "known_at": split.known_at.isoformat(),
        "gap_days": gap / _DAY,
    }
    spans = log.groupby("case_id")["at"].agg(["min", "max"])
    case_order = spans.index.to_series()
    summary = {
        "cases": int(log["case_id"].nunique()),
        "events": len(log),
        "shared_test_cases": len(set(test) & set(split.test)),
        "case_id_start_spearman": float(
            case_order.corr(spans["min"].rank(), method="spearman")
        ),
        "mean_case_days": float(((spans["max"] - spans["min"]) / _DAY).mean()),
        "mean_remaining_days": float(rows["remaining_days"].mean()),
    }
    return {"file_order": file_order, "temporal": temporal, "log": summary}
