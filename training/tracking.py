"""Record a training run in MLflow and register its model version.

The run holds the parameters, the summary and per-cut-off metrics, the data
hash and ``evaluation.json``; its model is registered as a new version of
``stallwatch`` (see :mod:`training.registry`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from training.pipeline import TrainingResult

log = logging.getLogger("stallwatch.training")


@dataclass(frozen=True)
class LoggedRun:
    """Where a training run landed in MLflow."""

    run_id: str
    model_version: str
    tracking_uri: str


def _metric_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", name)


def log_run(result: TrainingResult, *, default_tracking_uri: str) -> LoggedRun:
    """Log a finished run and register its model; ``MLFLOW_TRACKING_URI`` wins.

    Returns
    -------
    LoggedRun
        The MLflow run id and the registry version of its model.
    """
    import mlflow

    from training.registry import connect, experiment_id, log_and_register

    client = connect(default_tracking_uri)
    uri = mlflow.get_tracking_uri()
    experiment = experiment_id(client, uri)
    with mlflow.start_run(
        experiment_id=experiment, run_name=f"train-{result.version}"
    ) as run:
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
        version = log_and_register(
            result.bundle_dir,
            result.per_cutoff,
            k=int(result.params.get("k", 50)),
            label=str(result.params.get("label", "source")),
        )
        run_id: str = run.info.run_id
    log.info("mlflow_run_logged", extra={"run_id": run_id, "tracking_uri": uri})
    return LoggedRun(run_id=run_id, model_version=version, tracking_uri=uri)
