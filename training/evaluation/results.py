"""Run the whole rolling-origin evaluation of one log and tabulate it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.asof import NUMERIC_FEATURES
from features.sla.desk import SlaDesk
from features.sla.features import SLA_FEATURES
from training.dataset import build_history_snapshots
from training.evaluation.measures import HoursBetween, wall_hours
from training.evaluation.protocol import evaluation_splits
from training.evaluation.runner import (
    SCORERS,
    CutoffResult,
    ExtraEvaluator,
    evaluate_cutoff,
)

log = logging.getLogger("stallwatch.training")


@dataclass
class EvaluationResult:
    """A whole evaluation: its parameters and every cut-off's results."""

    params: dict[str, Any]
    cutoffs: list[CutoffResult]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def evaluated(self) -> list[CutoffResult]:
        """The cut-offs that were not skipped."""
        return [c for c in self.cutoffs if c.skipped is None]


def per_cutoff_frame(result: EvaluationResult) -> pd.DataFrame:
    """Return one row per cut-off: its dates, sizes, skip reason and metrics."""
    rows = []
    for c in result.cutoffs:
        rows.append(
            {
                **c.split,
                "skipped": c.skipped,
                **{f"calibration.{n}": v for n, v in c.calibration.items()},
                **c.metrics,
            }
        )
    return pd.DataFrame(rows)


def summary_metrics(result: EvaluationResult) -> dict[str, float]:
    """Mean and standard deviation over evaluated cut-offs of every metric."""
    frame = pd.DataFrame([c.metrics for c in result.evaluated])
    out: dict[str, float] = {}
    for column in frame.columns:
        values = frame[column].astype(float).dropna()
        if values.empty:
            continue
        out[f"{column}.mean"] = float(values.mean())
        out[f"{column}.std"] = float(values.std(ddof=0))
    return out


def precision_at_k_by_cutoff(
    result: EvaluationResult,
    *,
    model: str = "lightgbm",
    metric: str = "review_precision_at_k",
) -> pd.DataFrame:
    """Compare the model with the rule-only ranking at equal k on each cut-off.

    Returns
    -------
    DataFrame
        One row per cut-off: ``cutoff``, ``skipped`` (reason or None),
        ``model`` and ``rule`` (the metric, NaN when skipped) and
        ``model_beats_rule`` (strictly higher; False when skipped or NaN).
    """
    rows = []
    for c in result.cutoffs:
        mine = c.metrics.get(f"{model}.{metric}", np.nan)
        rule = c.metrics.get(f"rule.{metric}", np.nan)
        rows.append(
            {
                "cutoff": c.cutoff,
                "skipped": c.skipped,
                "model": mine,
                "rule": rule,
                "model_beats_rule": bool(mine > rule),
            }
        )
    return pd.DataFrame(rows)


def _epoch_seconds(values: pd.Series) -> np.ndarray:
    """Whole UTC epoch seconds, whatever the column's time unit."""
    since = pd.to_datetime(values, utc=True) - pd.Timestamp(0, tz="UTC")
    return np.asarray(since // pd.Timedelta(seconds=1), dtype=np.int64)


def business_hours(desk: SlaDesk | None, moment: pd.Timestamp) -> HoursBetween:
    """Return business hours between instants on the desk's calendar at ``moment``.

    Without a desk, wall-clock hours.
    """
    if desk is None:
        return wall_hours
    calendar = desk.calendar_at(moment.to_pydatetime())

    def business(start: pd.Series, end: pd.Series) -> np.ndarray:
        s, e = (_epoch_seconds(v) for v in (start, end))
        seconds = calendar.business_seconds_between_epoch(s, e)
        return np.asarray(seconds, dtype=float) / 3600.0

    return business


def run_evaluation(
    events: pd.DataFrame,
    *,
    data_sha256: str,
    k: int = 50,
    n_cutoffs: int = 3,
    gap: pd.Timedelta,
    desk: SlaDesk | None = None,
    label: Literal["source", "policy"] = "source",
    validation_share: float = 0.25,
    extra: Sequence[tuple[str, ExtraEvaluator]] = (),
) -> EvaluationResult:
    """Evaluate the stall model and both baselines on rolling cut-offs.

    Parameters
    ----------
    events : DataFrame
        The canonical event log.
    data_sha256 : str
        Hash of the source file(s), recorded with the run.
    k : int
        Tickets a manager reviews per day (the daily review capacity).
    n_cutoffs : int
        Number of rolling test windows, at least 3 for a spread.
    gap : Timedelta
        Gap between training, validation and test; at least the longest SLA
        horizon.
    desk : SlaDesk, optional
        SLA set-up: clock features, the rule's SLA share, business hours.
    label : {"source", "policy"}
        What counts as a stall (see :func:`training.dataset.build_snapshots`).
    validation_share : float
        Share of pre-cut-off tickets in the calibration window.
    extra : sequence of (prefix, callable)
        Further measurements per split.
    """
    started = time.perf_counter()
    snapshots, outcomes = build_history_snapshots(events, desk=desk, label=label)
    numeric = [*NUMERIC_FEATURES, *(SLA_FEATURES if desk is not None else ())]
    splits = evaluation_splits(
        outcomes, n_cutoffs=n_cutoffs, gap=gap, validation_share=validation_share
    )
    cutoffs = [
        evaluate_cutoff(
            snapshots,
            split,
            k=k,
            numeric=numeric,
            hours_between=business_hours(desk, split.cutoff),
            extra=extra,
        )
        for split in splits
    ]
    params = {
        "k": k,
        "k_meaning": "tickets a manager reviews per day",
        "n_cutoffs": n_cutoffs,
        "gap_days": gap / pd.Timedelta(days=1),
        "validation_share": validation_share,
        "label": label,
        "sla_desk": desk.name if desk is not None else "none",
        "data_sha256": data_sha256,
        "features": ",".join([*numeric, "topic text (12 SVD columns)"]),
        "tickets": int(outcomes.shape[0]),
        "censored_tickets": int(outcomes["stalled"].isna().sum()),
        "data_window": f"{outcomes['created_at'].min()} .. "
        f"{outcomes['created_at'].max()}",
        "scorers": ",".join(SCORERS),
    }
    for i, split in enumerate(splits):
        for key, value in split.describe().items():
            if isinstance(value, str):
                params[f"split{i}.{key}"] = value
    seconds = time.perf_counter() - started
    log.info("evaluation_finished", extra={"seconds": round(seconds, 1)})
    return EvaluationResult(params=params, cutoffs=cutoffs, seconds=seconds)
