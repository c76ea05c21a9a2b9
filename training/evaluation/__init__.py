"""Rolling-origin evaluation of the stall model against its baselines."""

from training.evaluation.results import (
    EvaluationResult,
    per_cutoff_frame,
    precision_at_k_by_cutoff,
    run_evaluation,
    summary_metrics,
)
from training.evaluation.runner import SCORERS, CutoffResult

__all__ = [
    "SCORERS",
    "CutoffResult",
    "EvaluationResult",
    "per_cutoff_frame",
    "precision_at_k_by_cutoff",
    "run_evaluation",
    "summary_metrics",
]
