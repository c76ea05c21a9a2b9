"""Fit the stall model and its baselines on each split and measure them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.asof import CATEGORICAL_FEATURES, LOAD_FEATURES
from training.evaluation import measures as m
from training.evaluation.calibration import Calibrator, choose_calibrator
from training.evaluation.protocol import EvaluationSplit
from training.learners import (
    as_matrix,
    category_levels,
    fit_lightgbm,
    fit_logistic,
    logistic_scores,
    rule_scores,
)
from training.metrics import discrimination, precision_recall_at_k
from training.text import add_text_features, fit_topic_text, text_columns

log = logging.getLogger("stallwatch.training")

#: The model first, then its ablation and the two baselines.
SCORERS = ("lightgbm", "lightgbm_no_load", "logistic", "rule")
#: Scorers that give probabilities (calibrated on the validation window).
PROBABILISTIC = ("lightgbm", "logistic")

#: Extra measurements per split, e.g. a time-to-breach model:
#: ``(snapshots, split) -> {"metric": value}``, merged under its own prefix.
ExtraEvaluator = Callable[[pd.DataFrame, EvaluationSplit], dict[str, float]]


@dataclass
class CutoffResult:
    """What one cut-off measured, for every scorer."""

    split: dict[str, Any]
    skipped: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, str] = field(default_factory=dict)
    scored: pd.DataFrame | None = None
    topk_curve: pd.DataFrame | None = None

    @property
    def cutoff(self) -> str:
        """The cut-off instant, ISO 8601."""
        return str(self.split["cutoff"])


def _labelled(
    snapshots: pd.DataFrame, tickets: frozenset[str], known_at: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows of ``tickets`` with a known label, moments before ``known_at``."""
    rows = snapshots[
        snapshots["ticket_id"].isin(tickets) & snapshots["stalled"].notna()
    ]
    if known_at is not None:
        rows = rows[rows["at"] < known_at]
    return rows.reset_index(drop=True)


def _why_unlearnable(parts: dict[str, pd.DataFrame]) -> str | None:
    """Say why a part cannot be learned from or judged, or None if all can."""
    for name, rows in parts.items():
        classes = rows["stalled"].nunique() if not rows.empty else 0
        if classes < 2:
            return (
                f"{len(rows)} {name} moments with {classes} outcome class(es): "
                "too few finished tickets to learn from or to judge"
            )
    return None


def _percentile(score: np.ndarray) -> np.ndarray:
    """Rank each score within the window, 0 to 1 (comparable across scorers)."""
    return np.asarray(pd.Series(score).rank(pct=True, method="average"), dtype=float)


def _fit_scorers(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
    *,
    numeric: Sequence[str],
    validation_weight: pd.Series,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Calibrator]]:
    """Return raw test scores, calibrated test probabilities and the calibrators."""
    levels = category_levels(train, CATEGORICAL_FEATURES)
    text = fit_topic_text(train)
    train, validation, test = (
        add_text_features(p, text) for p in (train, validation, test)
    )
    numeric = [*numeric, *text_columns(text)]
    without_load = [n for n in numeric if n not in LOAD_FEATURES]
    y_val = validation["stalled"].to_numpy(dtype=bool)
    val_tickets = validation["ticket_id"].to_numpy()
    # Censoring weights of each validation ticket, spread over its moments.
    val_weight = (
        validation["ticket_id"].map(validation_weight).fillna(1.0).to_numpy(float)
    )

    raw: dict[str, Any] = {}
    raw_val: dict[str, Any] = {}
    booster = fit_lightgbm(train, validation, levels=levels, numeric=numeric)
    raw["lightgbm"] = booster.predict(as_matrix(test, levels, numeric))
    raw_val["lightgbm"] = booster.predict(as_matrix(validation, levels, numeric))
    no_load = fit_lightgbm(train, validation, levels=levels, numeric=without_load)
    raw["lightgbm_no_load"] = no_load.predict(as_matrix(test, levels, without_load))
    logistic = fit_logistic(train, categorical=CATEGORICAL_FEATURES, numeric=numeric)
    raw["logistic"] = logistic_scores(logistic, test, categorical=CATEGORICAL_FEATURES)
    raw_val["logistic"] = logistic_scores(
        logistic, validation, categorical=CATEGORICAL_FEATURES
    )
    raw["rule"] = rule_scores(test)

    calibrators = {
        name: choose_calibrator(raw_val[name], y_val, val_tickets, weight=val_weight)
        for name in PROBABILISTIC
    }
    calibrated = {name: calibrators[name](raw[name]) for name in PROBABILISTIC}
    raw = {name: np.asarray(s, dtype=float) for name, s in raw.items()}
    return raw, calibrated, calibrators


def _scorer_metrics(
    test: pd.DataFrame,
    score: np.ndarray,
    *,
    k: int,
    stages: dict[str, np.ndarray],
    hours_between: m.HoursBetween,
) -> dict[str, float]:
    """Every metric of one scorer on one test window (see the report)."""
    y = test["stalled"].to_numpy(dtype=bool)
    first = test["first_moment"].to_numpy(dtype=bool)
    daily = test["moment"].to_numpy() == "daily"
    out: dict[str, float] = {}
    for name, mask in (("all", np.ones_like(first)), ("first", first)):
        d = discrimination(y[mask], score[mask])
        out[f"{name}_pr_auc"], out[f"{name}_roc_auc"] = d["pr_auc"], d["roc_auc"]
        out[f"{name}_prevalence"] = float(y[mask].mean()) if mask.any() else np.nan

    # The manager's daily list: open tickets at the daily review.
    review = test[daily]
    day = review["at"].to_numpy()
    review_pr = m.review_precision_recall(day, y[daily], score[daily], k=k)
    in_top = m.daily_top_k(day, y[daily], score[daily], k=k)
    lead = m.lead_time_hours(review, in_top, hours_between=hours_between)
    out |= {
        "review_precision_at_k": review_pr["precision"],
        "review_recall_at_k": review_pr["recall"],
        "review_days": review_pr["days"],
        "review_days_full": review_pr["days_full"],
        "lead_time_median_h": float(np.median(lead)) if len(lead) else np.nan,
        "lead_time_mean_h": float(np.mean(lead)) if len(lead) else np.nan,
        "caught_stalls": float(len(lead)),
        "alerts_per_day": m.alerts_per_day(day, review["ticket_id"].to_numpy(), in_top),
        "stability_rank": m.score_stability(test, _percentile(score)),
    }

    # New tickets, triaged on the day they arrive.
    first_rows = test[first]
    first_day = first_rows["at"].dt.floor("D").to_numpy()
    first_pr = m.review_precision_recall(first_day, y[first], score[first], k=k)
    out |= {
        "first_precision_at_k": first_pr["precision"],
        "first_recall_at_k": first_pr["recall"],
        "first_days_full": first_pr["days_full"],
        # As in EVALUATION.md's reference: the top 10 % of first moments.
        "first_precision_top10pct": precision_recall_at_k(
            y[first], score[first], max(1, round(0.1 * int(first.sum())))
        )[0],
    }
    return out | m.stage_discrimination(test, score, stages)


def _topk_curve(
    test: pd.DataFrame, scores: dict[str, np.ndarray], k: int
) -> pd.DataFrame:
    """Precision of the daily review for k from 1 to 2k, one column per scorer."""
    daily = test["moment"].to_numpy() == "daily"
    y = test["stalled"].to_numpy(dtype=bool)[daily]
    day = test["at"].to_numpy()[daily]
    ks = sorted({*np.unique(np.linspace(1, 2 * k, 20).astype(int)), k})
    return pd.DataFrame(
        {
            name: [
                m.review_precision_recall(day, y, s[daily], k=kk)["precision"]
                for kk in ks
            ]
            for name, s in scores.items()
        },
        index=pd.Index(ks, name="k"),
    )


def evaluate_cutoff(
    snapshots: pd.DataFrame,
    split: EvaluationSplit,
    *,
    k: int,
    numeric: Sequence[str],
    hours_between: m.HoursBetween = m.wall_hours,
    extra: Sequence[tuple[str, ExtraEvaluator]] = (),
) -> CutoffResult:
    """Fit every scorer on one split and measure it on the split's test tickets.

    Parameters
    ----------
    snapshots : DataFrame
        Labelled as-of rows from :func:`training.dataset.build_snapshots`.
    split : EvaluationSplit
        Training, validation and test tickets with their horizons.
    k : int
        Tickets a manager reviews per day.
    numeric : sequence of str
        Numeric features (categorical ones are fixed).
    hours_between : callable
        Business hours between two instants, for the lead time.
    extra : sequence of (prefix, callable)
        Further measurements of the split (e.g. time to breach).
    """
    train = _labelled(snapshots, split.train, split.train_known_at)
    validation = _labelled(snapshots, split.validation, split.validation_known_at)
    test = _labelled(snapshots, split.test, None)
    problem = _why_unlearnable(
        {"training": train, "validation": validation, "test": test}
    )
    result = CutoffResult(split=split.describe())
    if problem is not None:
        log.warning(
            "cutoff_skipped", extra={"cutoff": result.cutoff, "reason": problem}
        )
        result.skipped = problem
        return result

    raw, calibrated, calibrators = _fit_scorers(
        train,
        validation,
        test,
        numeric=numeric,
        validation_weight=split.validation_weight,
    )
    stages = m.stage_rows(test)
    y = test["stalled"].to_numpy(dtype=bool)
    first = test["first_moment"].to_numpy(dtype=bool)
    metrics: dict[str, float] = {
        "rows.train": float(len(train)),
        "rows.validation": float(len(validation)),
        "rows.test": float(len(test)),
        "validation.censored_share": split.validation_censored_share,
    }
    for name, score in raw.items():
        found = _scorer_metrics(
            test, score, k=k, stages=stages, hours_between=hours_between
        )
        metrics |= {f"{name}.{key}": value for key, value in found.items()}
    for name in PROBABILISTIC:
        for when, mask in (("all", np.ones_like(first)), ("first", first)):
            for label, p in (("raw", raw[name]), ("calibrated", calibrated[name])):
                quality = m.probability_quality(y[mask], p[mask])
                metrics |= {f"{name}.{when}_{q}_{label}": v for q, v in quality.items()}
        metrics[f"{name}.stability_prob"] = m.score_stability(test, calibrated[name])
    for prefix, evaluator in extra:
        metrics |= {f"{prefix}.{k}": v for k, v in evaluator(snapshots, split).items()}

    result.metrics = metrics
    result.calibration = {name: c.method for name, c in calibrators.items()}
    result.scored = test[
        ["ticket_id", "at", "moment", "first_moment", "stalled"]
    ].assign(
        **{f"score_{n}": s for n, s in raw.items()},
        **{f"prob_{n}": p for n, p in calibrated.items()},
    )
    result.topk_curve = _topk_curve(test, raw, k)
    log.info(
        "cutoff_evaluated",
        extra={
            "cutoff": result.cutoff,
            "lightgbm_review_precision": round(
                metrics["lightgbm.review_precision_at_k"], 3
            ),
            "rule_review_precision": round(metrics["rule.review_precision_at_k"], 3),
        },
    )
    return result
