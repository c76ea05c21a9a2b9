"""Record an evaluation in MLflow: split dates, data hash, features, metrics."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from training.evaluation.results import EvaluationResult, summary_metrics

log = logging.getLogger("stallwatch.training")

EXPERIMENT = "stallwatch-evaluation"


def metric_name(name: str) -> str:
    """Return ``name`` with characters MLflow refuses replaced by ``_``."""
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", name)


def log_evaluation(
    result: EvaluationResult, *, report_dir: Path, tracking_uri: str, run_name: str
) -> str:
    """Log parameters, summary and per-cut-off metrics and the report folder.

    ``MLFLOW_TRACKING_URI`` in the environment wins over ``tracking_uri``, as
    for training runs.

    Summary metrics are ``<scorer>.<metric>.mean`` and ``.std`` over the
    evaluated cut-offs; each cut-off's metrics are logged as
    ``cutoff.<scorer>.<metric>`` with the cut-off's index as the step.

    Returns
    -------
    str
        The MLflow run id.
    """
    import mlflow

    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in result.params.items()})
        mlflow.log_metrics(
            {metric_name(k): v for k, v in summary_metrics(result).items() if v == v}
        )
        for step, cutoff in enumerate(result.cutoffs):
            values = {
                metric_name(f"cutoff.{k}"): v
                for k, v in cutoff.metrics.items()
                if v == v
            }
            if values:
                mlflow.log_metrics(values, step=step)
        mlflow.log_artifacts(str(report_dir), artifact_path="report")
        run_id: str = run.info.run_id
    log.info("mlflow_evaluation_logged", extra={"run_id": run_id})
    return run_id
