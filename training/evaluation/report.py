"""The evaluation report in Markdown: headline, per cut-off, calibration, stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from training.evaluation.results import (
    EvaluationResult,
    precision_at_k_by_cutoff,
)
from training.evaluation.runner import PROBABILISTIC, SCORERS

#: (metric key, row label, probabilistic scorers only)
HEADLINE = (
    ("review_precision_at_k", "precision@k, daily review", False),
    ("review_recall_at_k", "recall@k, daily review", False),
    ("first_precision_at_k", "precision@k, new tickets of the day", False),
    ("first_recall_at_k", "recall@k, new tickets of the day", False),
    ("first_precision_top10pct", "precision at top 10 %, first moment", False),
    ("first_pr_auc", "PR-AUC, first moment", False),
    ("first_roc_auc", "ROC-AUC, first moment", False),
    ("all_pr_auc", "PR-AUC, all moments", False),
    ("all_roc_auc", "ROC-AUC, all moments", False),
    ("lead_time_median_h", "lead time before breach, median business hours", False),
    ("caught_stalls", "stalls caught on the daily list", False),
    ("alerts_per_day", "alerts per day (tickets new to the list)", False),
    ("stability_rank", "score change between events (percentile rank)", False),
    ("stability_prob", "score change between events (probability)", True),
    ("all_brier_calibrated", "Brier score, all moments", True),
    ("all_log_loss_calibrated", "log loss, all moments", True),
    ("all_ece_calibrated", "ECE, all moments", True),
    ("first_ece_calibrated", "ECE, first moment", True),
)
STAGE_LABELS = {
    "first": "first moment",
    "events_1": "1 event seen",
    "events_2": "2 events seen",
    "events_3": "3 events seen",
    "events_4plus": "4+ events seen",
    "sla_used_10": "10 % of SLA window used",
    "sla_used_25": "25 % of SLA window used",
    "sla_used_50": "50 % of SLA window used",
}


def _frame(result: EvaluationResult) -> pd.DataFrame:
    return pd.DataFrame([c.metrics for c in result.evaluated])


def spread(values: pd.Series | Sequence[float], digits: int = 3) -> str:
    """Render mean ± standard deviation (over cut-offs), or n/a."""
    clean = pd.Series(values, dtype=float).dropna()
    if clean.empty:
        return "n/a"
    if len(clean) == 1:
        return f"{clean.iloc[0]:.{digits}f}"
    return f"{clean.mean():.{digits}f} ± {clean.std(ddof=0):.{digits}f}"


def _value(row: Mapping[str, float], key: str, digits: int = 3) -> str:
    value = row.get(key, np.nan)
    return "n/a" if value != value else f"{value:.{digits}f}"


def headline_table(result: EvaluationResult) -> str:
    """Every headline metric per scorer, mean ± sd over the cut-offs."""
    frame = _frame(result)
    lines = [
        "| metric | " + " | ".join(SCORERS) + " |",
        "|---|" + "---|" * len(SCORERS),
    ]
    for key, label, probabilistic in HEADLINE:
        digits = 1 if key in ("lead_time_median_h", "caught_stalls") else 3
        cells = []
        for name in SCORERS:
            column = f"{name}.{key}"
            if (probabilistic and name not in PROBABILISTIC) or column not in frame:
                cells.append("n/a")
            else:
                cells.append(spread(frame[column], digits))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cutoff_table(result: EvaluationResult) -> str:
    """Per cut-off: sizes, precision@k of both lists, first-moment PR-AUC."""
    k = result.params["k"]
    ranked = ("lightgbm", "logistic", "rule")
    daily = precision_at_k_by_cutoff(result).set_index("cutoff")
    new = precision_at_k_by_cutoff(result, metric="first_precision_at_k")
    new = new.set_index("cutoff")
    header = (
        [f"{s} p@{k} daily" for s in ranked]
        + [f"{s} p@{k} new" for s in ranked]
        + [f"{s} PR-AUC first" for s in SCORERS]
        + ["model beats rule (daily / new)"]
    )
    lines = [
        "| cut-off (test window) | train / val / test tickets | "
        + " | ".join(header)
        + " |",
        "|---|---|" + "---|" * len(header),
    ]
    for c in result.cutoffs:
        split = c.split
        window = f"{split['cutoff'][:10]} .. {split['test_end'][:10]}"
        sizes = (
            f"{split['train_tickets']} / {split['validation_tickets']} / "
            f"{split['test_tickets']}"
        )
        if c.skipped:
            cells = ["skipped"] * len(header)
        else:
            cells = [_value(c.metrics, f"{s}.review_precision_at_k") for s in ranked]
            cells += [_value(c.metrics, f"{s}.first_precision_at_k") for s in ranked]
            cells += [_value(c.metrics, f"{s}.first_pr_auc") for s in SCORERS]
            wins = [
                "yes" if gate.loc[c.cutoff, "model_beats_rule"] else "**no**"
                for gate in (daily, new)
            ]
            cells.append(" / ".join(wins))
        lines.append(f"| {window} | {sizes} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def calibration_table(result: EvaluationResult) -> str:
    """Per cut-off: the method chosen on validation and test ECE before/after."""
    lines = [
        "| cut-off | scorer | method (chosen on validation) | validation "
        "tickets open at the cut-off | ECE all moments, raw → calibrated | "
        "ECE first moment, raw → calibrated | Brier all, raw → calibrated |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in result.evaluated:
        for name in PROBABILISTIC:
            m = c.metrics
            lines.append(
                f"| {c.cutoff[:10]} | {name} | {c.calibration[name]} | "
                f"{_value(m, 'validation.censored_share', 2)} | "
                f"{_value(m, f'{name}.all_ece_raw')} → "
                f"{_value(m, f'{name}.all_ece_calibrated')} | "
                f"{_value(m, f'{name}.first_ece_raw')} → "
                f"{_value(m, f'{name}.first_ece_calibrated')} | "
                f"{_value(m, f'{name}.all_brier_raw', 4)} → "
                f"{_value(m, f'{name}.all_brier_calibrated', 4)} |"
            )
    frame = _frame(result)
    for name in PROBABILISTIC:
        if f"{name}.all_ece_raw" not in frame:
            continue
        lines.append(
            f"| mean ± sd | {name} | | | {spread(frame[f'{name}.all_ece_raw'])} → "
            f"{spread(frame[f'{name}.all_ece_calibrated'])} | "
            f"{spread(frame[f'{name}.first_ece_raw'])} → "
            f"{spread(frame[f'{name}.first_ece_calibrated'])} | "
            f"{spread(frame[f'{name}.all_brier_raw'], 4)} → "
            f"{spread(frame[f'{name}.all_brier_calibrated'], 4)} |"
        )
    return "\n".join(lines) + "\n"


def stage_table(result: EvaluationResult) -> str:
    """PR-AUC (and ROC-AUC of the model) by stage, mean ± sd over cut-offs."""
    frame = _frame(result)
    lines = [
        "| stage | tickets | stall rate | "
        + " | ".join(f"{s} PR-AUC" for s in SCORERS)
        + " | lightgbm ROC-AUC | rule ROC-AUC |",
        "|---|---|---|" + "---|" * (len(SCORERS) + 2),
    ]
    for stage, label in STAGE_LABELS.items():
        prefix = f"lightgbm.stage.{stage}"
        if f"{prefix}.tickets" not in frame:
            continue
        cells = [
            spread(frame[f"{prefix}.tickets"], 0),
            spread(frame[f"{prefix}.prevalence"]),
            *(spread(frame[f"{s}.stage.{stage}.pr_auc"]) for s in SCORERS),
            spread(frame[f"{prefix}.roc_auc"]),
            spread(frame[f"rule.stage.{stage}.roc_auc"]),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_report(
    result: EvaluationResult,
    *,
    title: str,
    command: str,
    plots: Mapping[str, str],
) -> str:
    """Render the whole evaluation report.

    Parameters
    ----------
    result : EvaluationResult
        What :func:`training.evaluation.run_evaluation` measured.
    title : str
        The report's heading (usually the log's name).
    command : str
        The command that reproduces the report.
    plots : mapping of str to str
        Figure name to its path relative to the report.
    """
    p = result.params
    evaluated, total = len(result.evaluated), len(result.cutoffs)
    skipped = [f"- {c.cutoff[:10]}: {c.skipped}." for c in result.cutoffs if c.skipped]
    skipped_section = (
        "## Skipped cut-offs\n\n" + "\n".join(skipped) + "\n" if skipped else ""
    )
    figures = "\n".join(f"![{name}]({path})" for name, path in plots.items())
    return f"""# Evaluation: {title}

Reproduce with `{command}`.

- Label: `{p["label"]}`; SLA desk: `{p["sla_desk"]}`; {p["tickets"]} tickets
  ({p["censored_tickets"]} censored, left out of every yes/no label), created
  {p["data_window"]}. Data SHA-256: `{p["data_sha256"]}`.
- k = {p["k"]}: the tickets a manager reviews per day. The *daily review* ranks
  the open test tickets at 12:00 UTC each day and takes the top k; *new tickets
  of the day* ranks each day's new tickets at their first moment.
- {evaluated} of {total} rolling cut-offs evaluated; gap {p["gap_days"]:g}
  days between training, the calibration (validation) window and test; whole
  tickets on one side. Mean ± standard deviation over the cut-offs.
- Probabilities are calibrated on the validation window only (method chosen by
  cross-validated log loss there); rankings use the raw scores.

## Headline

{headline_table(result)}
## Per cut-off

{cutoff_table(result)}
## Calibration on the test windows

{calibration_table(result)}
## By stage of the ticket's life

One moment per ticket and stage (its first moment at that stage).

{stage_table(result)}
{skipped_section}
## Figures

{figures}
"""
