"""Markdown renderings of an evaluation: the results table and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from training.bundle import ModelBundle

_METRICS = (
    ("first_pr_auc", "PR-AUC, first moment"),
    ("first_roc_auc", "ROC-AUC, first moment"),
    ("first_precision_at_k", "precision@k, first moment"),
    ("all_pr_auc", "PR-AUC, all moments"),
    ("all_roc_auc", "ROC-AUC, all moments"),
    ("all_precision_at_k", "precision@k, all moments"),
    ("daily_precision_at_k", "precision@k, daily review"),
    ("daily_recall_at_k", "recall@k, daily review"),
)


def _cell(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "n/a"
    return f"{values.mean():.3f} ± {values.std(ddof=0):.3f}"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(dtype=float)
    return frame[name].astype(float)


def results_table(
    per_cutoff: list[dict[str, Any]], *, scorers: Sequence[str], k: int
) -> str:
    """Render mean ± spread over the cut-offs, then each cut-off, as Markdown."""
    frame = pd.DataFrame(per_cutoff)
    evaluated = len(frame) - int(frame.get("skipped", pd.Series()).notna().sum())
    lines = [
        f"Mean ± standard deviation over {evaluated} of {len(frame)} rolling "
        f"cut-offs, k = {k}.",
        "",
        "| metric | " + " | ".join(scorers) + " |",
        "|---|" + "---|" * len(scorers),
    ]
    for key, label in _METRICS:
        label = label.replace("@k", f"@{k}")
        cells = [_cell(_column(frame, f"{s}.{key}")) for s in scorers]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    prevalence = _cell(_column(frame, f"{scorers[0]}.first_prevalence"))
    lines += ["", f"Stall rate at the first moment of test tickets: {prevalence}.", ""]
    if "calibration.ece_raw" in frame.columns:
        ece = [
            _cell(_column(frame, f"calibration.ece_{s}")) for s in ("raw", "calibrated")
        ]
        score = [
            _cell(_column(frame, f"calibration.brier_{s}"))
            for s in ("raw", "calibrated")
        ]
        lines += [
            "Calibration of LightGBM on the test windows (none, sigmoid or "
            "isotonic, chosen and fitted on the validation window): expected "
            f"calibration error {ece[0]} raw, "
            f"{ece[1]} calibrated; Brier score {score[0]} raw, {score[1]} "
            "calibrated. This is a quick check on each cut-off's own validation "
            "rows, without the gap and censoring weights of the served model's "
            "calibration; `stallwatch evaluate` measures that protocol.",
            "",
        ]

    lines += [
        "| cut-off | test tickets | train tickets | "
        + " | ".join(f"{s} first PR-AUC" for s in scorers)
        + " |",
        "|---|---|---|" + "---|" * len(scorers),
    ]
    for row in per_cutoff:
        if row.get("skipped"):
            cells = ["skipped"] * len(scorers)
            lines.append(
                f"| {row['cutoff'][:10]} .. {row['test_end'][:10]} "
                f"| {row['test_tickets']} | {row['train_tickets']} | "
                + " | ".join(cells)
                + " |"
            )
            continue
        cells = [f"{row[f'{s}.first_pr_auc']:.3f}" for s in scorers]
        lines.append(
            f"| {row['cutoff'][:10]} .. {row['test_end'][:10]} "
            f"| {row['test_tickets']} | {row['train_tickets']} | "
            + " | ".join(cells)
            + " |"
        )
    skipped = [r for r in per_cutoff if r.get("skipped")]
    if skipped:
        lines.append("")
        lines += [f"Skipped {r['cutoff'][:10]}: {r['skipped']}." for r in skipped]
    return "\n".join(lines) + "\n"


def model_card(
    bundle: ModelBundle,
    *,
    params: dict[str, Any],
    quality: dict[str, float],
    table: str,
) -> str:
    """Render the model card shipped beside every bundle."""
    features = ", ".join(bundle.features)
    method = getattr(bundle, "calibration_method", "isotonic")
    calibration = (
        f"{method} calibration, chosen by cross-validated log loss and fitted "
        f"on {quality['validation_rows']:.0f} moments of a validation window "
        "a gap after training and a gap before the data's end"
        if quality.get("calibrated")
        else "LightGBM's own (no calibration map beat it on the validation window)"
    )
    return f"""# stallwatch stall model {bundle.version}

- Task: will this open ticket breach its SLA after the moment it is scored?
- Learner: LightGBM binary classifier, {quality["rounds"]:.0f} rounds. Served
  probability: {calibration}.
- Data: {params["tickets"]} tickets created {params["data_window"]}, source file
  SHA-256 `{params["data_sha256"]}`; censored (still open) tickets:
  {params["censored_tickets"]}, left out of every label.
- Features (as of the scoring moment only): {features}.
- Calibration on validation: Brier {quality["validation_brier_raw"]:.4f} raw,
  {quality["validation_brier_calibrated"]:.4f} calibrated; expected calibration
  error {quality["validation_ece_raw"]:.4f} raw,
  {quality["validation_ece_calibrated"]:.4f} calibrated.
- Risk bands: high from {bundle.band_thresholds["high"]:.3f}, medium from
  {bundle.band_thresholds["medium"]:.3f} (top 10 % and next 20 % of validation).

## Evaluation on later tickets

Rolling cut-offs by ticket creation time, a gap of {params["gap_days"]:g} days,
whole tickets on one side (see `../shared/EVALUATION.md`).

{table}
"""
