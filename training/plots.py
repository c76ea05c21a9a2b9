"""PNG figures of an evaluation: reliability, precision@k, PR curve, stages.

Figures are drawn with matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

if TYPE_CHECKING:
    from training.evaluation import EvaluationResult

STAGE_ORDER = (
    "first",
    "events_1",
    "events_2",
    "events_3",
    "events_4plus",
    "sla_used_10",
    "sla_used_25",
    "sla_used_50",
)


def _scored(result: EvaluationResult) -> pd.DataFrame:
    frames = [
        c.scored.assign(cutoff=c.cutoff)
        for c in result.evaluated
        if c.scored is not None
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def reliability_bins(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Mean probability and observed stall rate in equal-width bins.

    Parameters
    ----------
    y : ndarray of bool
        Outcomes.
    p : ndarray
        Probabilities.
    bins : int
        Number of equal-width bins on [0, 1].

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin``, ``mean_p``, ``rate``, ``n``.
    """
    which = np.minimum((np.asarray(p, dtype=float) * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": np.asarray(y, dtype=float)})
    out = frame.groupby("bin").agg(
        mean_p=("p", "mean"), rate=("y", "mean"), n=("y", "size")
    )
    return out.reset_index()


def plot_reliability(result: EvaluationResult, path: Path, *, model: str) -> Path:
    """Draw the reliability diagram of ``model`` before and after calibration."""
    scored = _scored(result)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    if not scored.empty:
        y = scored["stalled"].to_numpy(dtype=bool)
        for column, name in (
            (f"score_{model}", "raw"),
            (f"prob_{model}", "calibrated"),
        ):
            bins = reliability_bins(y, scored[column].to_numpy(dtype=float))
            ax.plot(bins["mean_p"], bins["rate"], marker="o", label=name)
    ax.set(
        xlabel="predicted stall probability",
        ylabel="observed stall rate",
        title=f"Reliability of {model}, test windows",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    return _save(fig, path)


def plot_precision_at_k(result: EvaluationResult, path: Path, *, k: int) -> Path:
    """Draw precision of the daily list against the review capacity."""
    curves = [c.topk_curve for c in result.evaluated if c.topk_curve is not None]
    fig, ax = plt.subplots(figsize=(6, 4))
    if curves:
        mean = pd.concat(curves).groupby(level=0).mean()
        for name in mean.columns:
            ax.plot(mean.index, mean[name], marker=".", label=name)
    ax.axvline(k, color="grey", linestyle=":", label=f"k = {k}")
    ax.set(
        xlabel="tickets reviewed per day (k)",
        ylabel="precision of the daily list",
        title="Precision@k at the daily review, mean over cut-offs",
    )
    ax.legend()
    return _save(fig, path)


def plot_pr_curve(result: EvaluationResult, path: Path, *, scorers: list[str]) -> Path:
    """Draw the precision-recall curve at each test ticket's first moment."""
    scored = _scored(result)
    fig, ax = plt.subplots(figsize=(5, 5))
    if not scored.empty:
        first = scored[scored["first_moment"].astype(bool)]
        y = first["stalled"].to_numpy(dtype=bool)
        for name in scorers:
            # Percentile ranks within each cut-off make scores comparable.
            rank = first.groupby("cutoff")[f"score_{name}"].rank(pct=True)
            precision, recall, _ = precision_recall_curve(y, rank.to_numpy())
            ax.plot(recall, precision, label=name)
        ax.axhline(y.mean(), color="grey", linestyle=":", label="stall rate")
    ax.set(
        xlabel="recall",
        ylabel="precision",
        title="PR curve, first moment (all cut-offs)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    return _save(fig, path)


def plot_stages(result: EvaluationResult, path: Path, *, scorers: list[str]) -> Path:
    """Draw PR-AUC by stage of the ticket's life, mean over cut-offs."""
    fig, ax = plt.subplots(figsize=(7, 4))
    frame = pd.DataFrame([c.metrics for c in result.evaluated])
    stages = [
        s for s in STAGE_ORDER if f"{scorers[0]}.stage.{s}.pr_auc" in frame.columns
    ]
    x = np.arange(len(stages))
    width = 0.8 / max(len(scorers), 1)
    for i, name in enumerate(scorers):
        values = [frame[f"{name}.stage.{s}.pr_auc"].mean() for s in stages]
        ax.bar(x + i * width, values, width=width, label=name)
    ax.set_xticks(x + width * (len(scorers) - 1) / 2, stages, rotation=30)
    ax.set(ylabel="PR-AUC", title="PR-AUC by stage of the ticket's life", ylim=(0, 1))
    ax.legend(fontsize="small")
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(result: EvaluationResult, folder: Path, *, k: int) -> dict[str, Path]:
    """Write every figure into ``folder``; return them by name."""
    from training.evaluation import SCORERS

    scorers = list(SCORERS)
    return {
        "reliability": plot_reliability(
            result, folder / "reliability.png", model="lightgbm"
        ),
        "precision_at_k": plot_precision_at_k(
            result, folder / "precision_at_k.png", k=k
        ),
        "pr_curve": plot_pr_curve(result, folder / "pr_curve.png", scorers=scorers),
        "stages": plot_stages(result, folder / "stages.png", scorers=scorers),
    }
