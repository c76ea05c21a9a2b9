"""Evaluate on rolling time splits, fit the served model, record everything."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.asof import CATEGORICAL_FEATURES, LOAD_FEATURES, NUMERIC_FEATURES
from features.sla.desk import SlaDesk
from features.sla.features import SLA_FEATURES
from training.bundle import ModelBundle, write_bundle
from training.dataset import build_history_snapshots
from training.evaluation.calibration import choose_calibrator
from training.evaluation.protocol import served_split
from training.feedback import apply_feedback_labels
from training.learners import (
    as_matrix,
    category_levels,
    fit_lightgbm,
    fit_logistic,
    logistic_scores,
    rule_scores,
)
from training.metrics import brier, evaluate_scores, expected_calibration_error
from training.report import model_card, results_table
from training.split import DEFAULT_GAP, Split, final_split, rolling_splits
from training.text import add_text_features, fit_topic_text, text_columns
from training.time_to_breach_eval import fit_served_time_to_breach

log = logging.getLogger("stallwatch.training")

SCORERS = ("lightgbm", "lightgbm_no_load", "logistic", "rule")


class InsufficientHistoryError(ValueError):
    """A split has no finished tickets to learn from or to test on."""


@dataclass
class TrainingResult:
    """What a training run measured and produced."""

    version: str
    per_cutoff: list[dict[str, Any]]
    summary: dict[str, float]
    bundle_dir: Path
    params: dict[str, Any] = field(default_factory=dict)


def _rows(snapshots: pd.DataFrame, tickets: frozenset[str]) -> pd.DataFrame:
    return snapshots[snapshots["ticket_id"].isin(tickets)]


def _labelled(rows: pd.DataFrame, known_at: pd.Timestamp | None) -> pd.DataFrame:
    """Keep rows whose label is known; moments after ``known_at`` are dropped."""
    rows = rows[rows["stalled"].notna()]
    if known_at is not None:
        rows = rows[rows["at"] < known_at]
    return rows


def _unlearnable(train: pd.DataFrame, validation: pd.DataFrame) -> str | None:
    """Say why a classifier cannot be fitted on these rows, or None if it can."""
    for name, rows in (("training", train), ("validation", validation)):
        classes = rows["stalled"].nunique() if not rows.empty else 0
        if classes < 2:
            return (
                f"{len(rows)} {name} moments with {classes} outcome class(es): "
                "too few finished tickets before the cut-off to learn from"
            )
    return None


def evaluate_split(
    snapshots: pd.DataFrame,
    split: Split,
    *,
    k: int,
    numeric: Sequence[str],
) -> dict[str, Any]:
    """Fit every scorer on one split's training rows and score its test rows."""
    train = _labelled(_rows(snapshots, split.train), split.known_at)
    validation = _labelled(_rows(snapshots, split.validation), split.known_at)
    test = _labelled(_rows(snapshots, split.test), None)
    problem = _unlearnable(train, validation)
    if problem is not None or test.empty:
        reason = problem or "no test ticket with a known outcome"
        log.warning(
            "cutoff_skipped",
            extra={"cutoff": split.cutoff.isoformat(), "reason": reason},
        )
        return {**split.describe(), "skipped": reason}
    levels = category_levels(train, CATEGORICAL_FEATURES)

    # Topic text: fitted on the training tickets, applied to every row.
    text = fit_topic_text(train)
    train, validation, test = (
        add_text_features(part, text) for part in (train, validation, test)
    )
    numeric = [*numeric, *text_columns(text)]
    without_load = [n for n in numeric if n not in LOAD_FEATURES]

    scores: dict[str, np.ndarray] = {}
    booster = fit_lightgbm(train, validation, levels=levels, numeric=numeric)
    scores["lightgbm"] = np.asarray(
        booster.predict(as_matrix(test, levels, numeric)), dtype=float
    )
    booster_nl = fit_lightgbm(train, validation, levels=levels, numeric=without_load)
    scores["lightgbm_no_load"] = np.asarray(
        booster_nl.predict(as_matrix(test, levels, without_load)), dtype=float
    )
    logistic = fit_logistic(train, categorical=CATEGORICAL_FEATURES, numeric=numeric)
    scores["logistic"] = logistic_scores(
        logistic, test, categorical=CATEGORICAL_FEATURES
    )
    scores["rule"] = rule_scores(test)

    result: dict[str, Any] = {
        **split.describe(),
        "train_rows": len(train),
        "test_rows": len(test),
        "lightgbm_rounds": booster.best_iteration or booster.current_iteration(),
    }
    for name, score in scores.items():
        for metric, value in evaluate_scores(test, score, k=k).items():
            result[f"{name}.{metric}"] = value

    # Calibration chosen on this split's validation rows, judged on test. The
    # full protocol (a gap-separated window, censoring weights) is
    # `stallwatch evaluate` (training/evaluation).
    raw_validation = np.asarray(
        booster.predict(as_matrix(validation, levels, numeric)), dtype=float
    )
    calibrator = choose_calibrator(
        raw_validation,
        validation["stalled"].to_numpy(dtype=bool),
        validation["ticket_id"].to_numpy(),
    )
    y_test = test["stalled"].to_numpy(dtype=bool)
    calibrated = calibrator(scores["lightgbm"])
    result |= {
        "calibration.ece_raw": expected_calibration_error(y_test, scores["lightgbm"]),
        "calibration.ece_calibrated": expected_calibration_error(y_test, calibrated),
        "calibration.brier_raw": brier(y_test, scores["lightgbm"]),
        "calibration.brier_calibrated": brier(y_test, calibrated),
    }
    log.info(
        "cutoff_evaluated",
        extra={
            "cutoff": split.cutoff.isoformat(),
            "lightgbm_first_pr_auc": round(result["lightgbm.first_pr_auc"], 3),
            "rule_first_pr_auc": round(result["rule.first_pr_auc"], 3),
        },
    )
    return result


def _summarise(per_cutoff: list[dict[str, Any]]) -> dict[str, float]:
    frame = pd.DataFrame(per_cutoff)
    summary: dict[str, float] = {}
    for column in frame.columns:
        if "." in column:
            values = frame[column].astype(float)
            summary[f"{column}.mean"] = float(values.mean())
            summary[f"{column}.std"] = float(values.std(ddof=0))
    return summary


def fit_served_model(
    snapshots: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    version: str,
    numeric: Sequence[str],
    gap: pd.Timedelta = DEFAULT_GAP,
    rounds: int | None = None,
) -> tuple[ModelBundle, dict[str, float]]:
    """Fit the served model on finished history and calibrate it.

    The calibration window lies between training and the future, a gap from
    each (:func:`training.evaluation.protocol.served_split`). The method
    (none, sigmoid or isotonic) is chosen there by cross-validated log loss,
    with censoring weights; no test window takes part in the choice. LightGBM
    is early-stopped on that window unless ``rounds`` fixes its length (the
    benchmarks compare sizes at equal rounds).
    """
    split = served_split(outcomes, gap=gap)
    train = _labelled(_rows(snapshots, split.train), split.train_known_at)
    validation = _labelled(_rows(snapshots, split.validation), None)
    weights = split.validation_weight
    methods: tuple[str, ...] = ("none", "sigmoid", "isotonic")
    if _unlearnable(train, validation) is not None:
        # A log like BPI 2013 leaves one class before the window: learn from
        # all finished history as before, and serve the raw probability.
        log.warning("served_calibration_skipped", extra={"gap_days": gap.days})
        train_ids, val_ids = final_split(outcomes)
        train = _labelled(_rows(snapshots, train_ids), None)
        validation = _labelled(_rows(snapshots, val_ids), None)
        weights, methods = pd.Series(dtype=float), ("none",)
    problem = _unlearnable(train, validation)
    if problem is not None:
        raise InsufficientHistoryError(f"the served model: {problem}")
    levels = category_levels(train, CATEGORICAL_FEATURES)
    text = fit_topic_text(train)
    train = add_text_features(train, text)
    validation = add_text_features(validation, text)
    numeric = [*numeric, *text_columns(text)]
    booster = fit_lightgbm(
        train, validation, levels=levels, numeric=numeric, rounds=rounds
    )

    # Calibration chosen and fitted on the validation window only.
    raw = np.asarray(
        booster.predict(as_matrix(validation, levels, numeric)), dtype=float
    )
    y_val = validation["stalled"].to_numpy(dtype=bool)
    weight = validation["ticket_id"].map(weights).fillna(1.0).to_numpy()
    calibrator = choose_calibrator(
        raw, y_val, validation["ticket_id"].to_numpy(), weight=weight, methods=methods
    )
    calibrated = served = calibrator(raw)

    # Bands: the top 10 % of validation moments are high, the next 20 % medium.
    bundle = ModelBundle(
        version=version,
        booster=booster,
        categorical=levels,
        numeric=list(numeric),
        calibration_x=calibrator.x,
        calibration_y=calibrator.y,
        calibration_method=calibrator.method,
        band_thresholds={
            "high": float(np.quantile(served, 0.9)),
            "medium": float(np.quantile(served, 0.7)),
        },
        text=text,
    )
    quality = {
        "validation_rows": float(len(validation)),
        "validation_brier_raw": brier(y_val, raw),
        "validation_brier_calibrated": brier(y_val, calibrated),
        "validation_ece_raw": expected_calibration_error(y_val, raw),
        "validation_ece_calibrated": expected_calibration_error(y_val, calibrated),
        "train_rows": float(len(train)),
        "rounds": float(booster.best_iteration or booster.current_iteration()),
        "calibrated": float(calibrator.method != "none"),
    }
    return bundle, quality


def run_training(
    events: pd.DataFrame,
    *,
    model_dir: Path,
    data_sha256: str,
    k: int = 50,
    n_cutoffs: int = 3,
    gap: pd.Timedelta = DEFAULT_GAP,
    desk: SlaDesk | None = None,
    label: Literal["source", "policy"] = "source",
    not_a_stall: Sequence[str] = (),
) -> TrainingResult:
    """Evaluate on rolling cut-offs, fit the served model and write its bundle.

    Parameters
    ----------
    events : DataFrame
        The canonical event log to learn from.
    model_dir : Path
        Where the bundle folder is written.
    data_sha256 : str
        Hash of the source data, recorded with the run.
    k : int
        Tickets a manager reviews at once, for precision@k.
    n_cutoffs : int
        Number of rolling test windows.
    gap : Timedelta
        Gap between training knowledge and each test window.
    desk : SlaDesk, optional
        SLA set-up whose clocks become features (and labels, see ``label``).
    label : {"source", "policy"}
        What counts as a stall: the source's own breach, or a breach of the
        desk's policy computed by the SLA engine.
    not_a_stall : sequence of str
        Tickets managers marked "not a stall"; labelled not stalled (see
        :func:`training.feedback.apply_feedback_labels`).
    """
    started = time.perf_counter()
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    snapshots, outcomes = build_history_snapshots(events, desk=desk, label=label)
    if not_a_stall:
        snapshots, outcomes = apply_feedback_labels(snapshots, outcomes, not_a_stall)
    numeric = list(NUMERIC_FEATURES)
    if desk is not None:
        numeric += list(SLA_FEATURES)
    log.info(
        "snapshots_built",
        extra={"rows": len(snapshots), "tickets": int(outcomes.shape[0])},
    )

    splits = rolling_splits(outcomes, n_cutoffs=n_cutoffs, gap=gap)
    per_cutoff = [evaluate_split(snapshots, s, k=k, numeric=numeric) for s in splits]
    summary = _summarise(per_cutoff)

    bundle, quality = fit_served_model(
        snapshots, outcomes, version=version, numeric=numeric, gap=gap
    )
    params = {
        "k": k,
        "n_cutoffs": n_cutoffs,
        "gap_days": gap / pd.Timedelta(days=1),
        "data_sha256": data_sha256,
        "features": ",".join(bundle.features),
        "data_window": f"{outcomes['created_at'].min()} .. "
        f"{outcomes['created_at'].max()}",
        # The latest event it learned from: a replay before it is not honest.
        "data_until": pd.Timestamp(events["occurred_at"].max()).isoformat(),
        "tickets": int(outcomes.shape[0]),
        "censored_tickets": int(outcomes["stalled"].isna().sum()),
        "label": label,
        "sla_desk": desk.name if desk is not None else "none",
    }
    # Time to breach or resolution, open tickets censored (EVALUATION.md rule 4).
    bundle.time_to_breach = fit_served_time_to_breach(
        bundle, snapshots, events, outcomes, desk=desk
    )
    bundle.card = {"params": params, "summary": summary, "quality": quality}
    table = results_table(per_cutoff, scorers=SCORERS, k=k)
    folder = write_bundle(
        bundle,
        model_dir,
        card_text=model_card(bundle, params=params, quality=quality, table=table),
        extra_files={"evaluation.md": table},
    )
    log.info(
        "training_finished",
        extra={
            "version": version,
            "seconds": round(time.perf_counter() - started, 1),
            "bundle": str(folder),
        },
    )
    return TrainingResult(
        version=version,
        per_cutoff=per_cutoff,
        summary=summary | quality,
        bundle_dir=folder,
        params=params,
    )
