"""The MLflow Model Registry: register each trained bundle, promote a champion.

Every training run registers a version of the model ``stallwatch``: a pyfunc
model (:mod:`training.pyfunc`) that carries the bundle folder, tagged with the
bundle's version and SHA-256, beside the run's per-cut-off evaluation
(``evaluation.json``). Promotion moves the alias ``champion`` and points the
local model store's ``CURRENT`` at the same bundle, so the service, which
reads only the model store, serves it on its next request.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
from mlflow import MlflowClient

from training.bundle import (
    BUNDLE_FILE,
    BundleError,
    bundle_folder,
    load_bundle,
    point_current,
    recorded_hash,
)
from training.gate import GATE_METRICS, Evaluation, cutoff_scores
from training.pyfunc import BUNDLE_ARTIFACT, input_example, signature

log = logging.getLogger("stallwatch.training")

MODEL_NAME = "stallwatch"
CHAMPION = "champion"
EXPERIMENT = "stallwatch-stall-risk"
EVALUATION_FILE = "evaluation.json"
#: Packages the pyfunc model needs besides stallwatch itself.
_REQUIREMENTS = ("lightgbm", "scikit-learn", "pandas", "numpy", "joblib", "mlflow")


class PromotionError(RuntimeError):
    """A model version cannot be found, fetched or trusted for promotion."""


@dataclass(frozen=True)
class ModelRecord:
    """A registered model version and what the gate needs to judge it.

    Attributes
    ----------
    version : str
        The registry's version number.
    bundle_version : str
        The bundle folder's name in the model store.
    bundle_sha256 : str
        SHA-256 of ``bundle.joblib`` recorded at registration.
    run_id : str
        The MLflow run that trained it.
    per_cutoff : list of dict
        The run's per-cut-off evaluation, as ``run_training`` produced it.
    k : int
        Tickets a manager reviews at once, as evaluated.
    label : str
        What counted as a stall.
    """

    version: str
    bundle_version: str
    bundle_sha256: str
    run_id: str
    per_cutoff: list[dict[str, Any]]
    k: int
    label: str

    def evaluation(self, metric: str = GATE_METRICS["first"]) -> Evaluation:
        """Return the gate's view of this version's evaluation on ``metric``."""
        scores = cutoff_scores(self.per_cutoff, metric=metric)
        return Evaluation(cutoffs=scores, k=self.k, label=self.label)


def tracking_uri(default: str) -> str:
    """Return ``MLFLOW_TRACKING_URI`` when set, else ``default``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default


def connect(default_tracking_uri: str) -> MlflowClient:
    """Point MLflow at the tracking store (which also holds the registry)."""
    uri = tracking_uri(default_tracking_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: MlflowClient, uri: str, name: str = EXPERIMENT) -> str:
    """Return the id of the experiment ``name``, creating it on first use.

    With a local SQLite store the artifacts go to ``mlartifacts/`` beside the
    database file, not to the working directory.
    """
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        if not database.is_absolute():
            database = Path.cwd() / database
        location = (database.parent / "mlartifacts").as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def _plain(value: Any) -> Any:
    """Return ``value`` as a JSON-ready scalar (NaN becomes None)."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | float):
        number = float(value)
        return None if math.isnan(number) else value
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def log_and_register(
    bundle_dir: Path, per_cutoff: list[dict[str, Any]], *, k: int, label: str
) -> str:
    """Inside the active run, log the evaluation and register the pyfunc model.

    Parameters
    ----------
    bundle_dir : Path
        The bundle folder in the model store (``<model_dir>/<version>``).
    per_cutoff : list of dict
        The run's per-cut-off results.
    k : int
        Tickets a manager reviews at once.
    label : str
        What counted as a stall.

    Returns
    -------
    str
        The new registry version number.
    """
    bundle = load_bundle(bundle_dir.parent, bundle_dir.name)
    rows = [{key: _plain(v) for key, v in row.items()} for row in per_cutoff]
    mlflow.log_text(json.dumps(rows, indent=1), EVALUATION_FILE)
    requirements = [f"{p}=={metadata.version(p)}" for p in _REQUIREMENTS]
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
        signature=signature(bundle),
        input_example=input_example(bundle),
        pip_requirements=requirements,
        registered_model_name=MODEL_NAME,
    )
    version = str(info.registered_model_version)
    client = MlflowClient()
    tags = {
        "bundle_version": bundle.version,
        "bundle_sha256": recorded_hash(bundle_dir.parent, bundle.version),
        "k": str(k),
        "label": label,
    }
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    log.info(
        "model_registered",
        extra={"model": MODEL_NAME, "version": version, "bundle": bundle.version},
    )
    return version


def _versions(client: MlflowClient) -> list[str]:
    found = client.search_model_versions(f"name = '{MODEL_NAME}'")
    return sorted((str(v.version) for v in found), key=int)


def champion_version(client: MlflowClient) -> str | None:
    """Return the version the ``champion`` alias names, or None."""
    models = client.search_registered_models(filter_string=f"name = '{MODEL_NAME}'")
    if not models:
        return None
    aliases: dict[str, Any] = dict(models[0].aliases or {})
    return str(aliases[CHAMPION]) if CHAMPION in aliases else None


def model_record(client: MlflowClient, version: str | None = None) -> ModelRecord:
    """Return a registered version (the newest when ``version`` is None)."""
    known = _versions(client)
    if not known:
        raise PromotionError(
            f"no version of {MODEL_NAME!r} is registered: run `stallwatch train`"
        )
    version = version or known[-1]
    if version not in known:
        raise PromotionError(
            f"{MODEL_NAME!r} has no version {version!r}; registered: {', '.join(known)}"
        )
    found = client.get_model_version(MODEL_NAME, version)
    tags = dict(found.tags or {})
    missing = {"bundle_version", "bundle_sha256", "k", "label"} - set(tags)
    if missing:
        raise PromotionError(
            f"version {version} lacks the tags {sorted(missing)}: "
            "it was not registered by `stallwatch train`"
        )
    text = mlflow.artifacts.load_text(f"runs:/{found.run_id}/{EVALUATION_FILE}")
    return ModelRecord(
        version=version,
        bundle_version=tags["bundle_version"],
        bundle_sha256=tags["bundle_sha256"],
        run_id=str(found.run_id),
        per_cutoff=[_nan_for_none(row) for row in json.loads(text)],
        k=int(tags["k"]),
        label=tags["label"],
    )


def _nan_for_none(row: dict[str, Any]) -> dict[str, Any]:
    return {k: float("nan") if v is None and "." in k else v for k, v in row.items()}


def _fetch_bundle(record: ModelRecord, model_dir: Path) -> None:
    """Copy the version's bundle folder into the model store if it is not there."""
    try:
        target = bundle_folder(model_dir, record.bundle_version)
    except BundleError as exc:
        raise PromotionError(f"version {record.version}: {exc}") from exc
    if (target / BUNDLE_FILE).exists():
        return
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{MODEL_NAME}/{record.version}", dst_path=scratch
            )
        )
        found = sorted(local.rglob(BUNDLE_FILE))
        if not found:
            raise PromotionError(f"version {record.version} carries no bundle")
        staging = model_dir / f".{record.bundle_version}.incoming"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(found[0].parent, staging)
        staging.replace(target)
    log.info("bundle_fetched", extra={"version": record.bundle_version})


def promote(
    client: MlflowClient,
    record: ModelRecord,
    model_dir: Path,
    *,
    verdict: str,
    reason: str,
) -> None:
    """Make ``record`` the champion and the model the service loads.

    The bundle is fetched into the model store if needed and checked against
    both its own hash file and the SHA-256 recorded in the registry before
    anything moves.

    Parameters
    ----------
    client : MlflowClient
        Connected to the registry.
    record : ModelRecord
        The version to promote.
    model_dir : Path
        The service's model store.
    verdict : str
        ``gate`` (it passed) or ``forced`` (a human's override).
    reason : str
        Recorded as the version's ``promotion_reason`` tag.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    _fetch_bundle(record, model_dir)
    try:
        load_bundle(model_dir, record.bundle_version)
    except BundleError as exc:
        raise PromotionError(f"version {record.version}: {exc}") from exc
    if recorded_hash(model_dir, record.bundle_version) != record.bundle_sha256:
        raise PromotionError(
            f"version {record.version}: bundle {record.bundle_version} in "
            f"{model_dir} differs from the one registered"
        )
    tags = {
        "promotion": verdict,
        "promotion_reason": reason,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, record.version, key, value)
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, record.version)
    point_current(model_dir, record.bundle_version)
    log.info(
        "model_promoted",
        extra={
            "version": record.version,
            "bundle": record.bundle_version,
            "verdict": verdict,
        },
    )
