"""Record a training run in MLflow: parameters, metrics, data hash, bundle."""

from __future__ import annotations

import logging
import os
import re

from training.pipeline import TrainingResult

log = logging.getLogger("stallwatch.training")

EXPERIMENT = "stallwatch-stall-risk"


def _metric_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", name)


def log_run(result: TrainingResult, *, default_tracking_uri: str) -> str:
    """Log a finished run; ``MLFLOW_TRACKING_URI`` wins over the default.

    Returns
    -------
    str
        The MLflow run id.
    """
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"train-{result.version}") as run:
        params = {k: str(v)[:500] for k, v in result.params.items()}
        mlflow.log_params({**params, "model_version": result.version})
        metrics = {
            _metric_name(k): float(v)
            for k, v in result.summary.items()
            if v == v  # NaN metrics are left out
        }
        mlflow.log_metrics(metrics)
        for step, cutoff in enumerate(result.per_cutoff):
            mlflow.log_metrics(
                {
                    _metric_name(f"cutoff.{k}"): float(v)
                    for k, v in cutoff.items()
                    if isinstance(v, float) and v == v
                },
                step=step,
            )
        mlflow.log_artifacts(str(result.bundle_dir), artifact_path="bundle")
        run_id: str = run.info.run_id
    log.info("mlflow_run_logged", extra={"run_id": run_id, "tracking_uri": uri})
    return run_id
