"""A newly promoted model is served without a restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stallwatch.settings import Settings, get_settings
from tests.credentials import admin_headers
from training.bundle import current_version, load_bundle, save_bundle, write_bundle


def test_service_serves_a_newly_promoted_bundle_without_restart(
    trained: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    settings = trained.model_copy(update={"model_dir": model_dir})
    first = current_version(model_dir)
    body = {"tickets": [{"ticket_id": "INC0000047"}], "at": "2016-02-29T12:00:00Z"}

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        before = client.post("/v1/risk-scores", json=body).json()

        # Promote a new version: a bundle whose probabilities are all halved.
        bundle = load_bundle(model_dir)
        bundle.version = "promoted-test"
        bundle.calibration_x = bundle.calibration_x.copy()
        bundle.calibration_y = bundle.calibration_y * 0.5
        save_bundle(bundle, model_dir, card_text="test bundle\n")

        health = client.get("/healthz").json()
        after = client.post("/v1/risk-scores", json=body).json()

    assert before["model_version"] == first != "promoted-test"
    assert health["model_version"] == after["model_version"] == "promoted-test"
    halved = before["scores"][0]["probability"] * 0.5
    assert abs(after["scores"][0]["probability"] - halved) < 1e-9


def test_service_keeps_the_loaded_model_when_the_new_one_is_corrupt(
    trained: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    settings = trained.model_copy(update={"model_dir": model_dir})
    first = current_version(model_dir)
    assert first is not None

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        broken = model_dir / "broken"
        shutil.copytree(model_dir / first, broken)
        (broken / "bundle.joblib").write_bytes(b"not a model")
        (model_dir / "CURRENT").write_text("broken\n")

        health = client.get("/healthz").json()

    assert health["model_version"] == first


CUTOFFS = ("2016-03-09T00:00:00+00:00", "2016-03-14T00:00:00+00:00")


@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store with its tables and experiment made once (it takes seconds)."""
    from training.registry import connect, experiment_id

    database = tmp_path_factory.mktemp("registry") / "mlflow.db"
    uri = f"sqlite:///{database}"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        experiment_id(connect(uri), uri)
    return database


@pytest.fixture
def store(
    trained: Settings,
    empty_registry: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """A copy of the trained model store with a fresh, empty MLflow registry."""
    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    shutil.copy(empty_registry, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("STALLWATCH_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("STALLWATCH_MLFLOW_TRACKING_URI", uri)
    get_settings.cache_clear()
    yield trained.model_copy(
        update={"model_dir": model_dir, "mlflow_tracking_uri": uri}
    )
    get_settings.cache_clear()


def _register(
    settings: Settings, name: str, *, scale: float, model_p: tuple[float, float]
) -> str:
    """Register the trained bundle as ``name`` with probabilities times ``scale``.

    Its hand-made evaluation puts the rule at 0.50 on both cut-offs.
    """
    import mlflow

    from training.registry import connect, experiment_id, log_and_register

    bundle = load_bundle(settings.model_dir)
    bundle.version = name
    bundle.calibration_y = bundle.calibration_y * scale
    folder = write_bundle(bundle, settings.model_dir, card_text="test bundle\n")
    per_cutoff = [
        {
            "cutoff": cutoff,
            "lightgbm.first_precision_at_k": p,
            "rule.first_precision_at_k": 0.50,
        }
        for cutoff, p in zip(CUTOFFS, model_p, strict=True)
    ]
    client = connect(settings.mlflow_tracking_uri)
    experiment = experiment_id(client, settings.mlflow_tracking_uri)
    with mlflow.start_run(experiment_id=experiment):
        return log_and_register(folder, per_cutoff, k=50, label="source")


def _promote(*args: str) -> Result:
    from stallwatch.cli import app

    return CliRunner().invoke(app, ["promote", *args])


def _champion(settings: Settings) -> str | None:
    from training.registry import champion_version, connect

    return champion_version(connect(settings.mlflow_tracking_uri))


BODY = {"tickets": [{"ticket_id": "INC0000047"}], "at": "2016-02-29T12:00:00Z"}


def test_promote_serves_the_new_champion_on_the_next_request(store: Settings) -> None:
    from api.app import create_app

    _register(store, "first", scale=1.0, model_p=(0.70, 0.60))  # lift 0.15
    first = _promote()

    with TestClient(create_app(store), headers=admin_headers(store)) as client:
        before = client.post("/v1/risk-scores", json=BODY).json()
        _register(store, "better", scale=0.5, model_p=(0.80, 0.60))  # lift 0.20
        second = _promote("2")
        after = client.post("/v1/risk-scores", json=BODY).json()
        health = client.get("/healthz").json()

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "no champion yet" in first.output
    assert "| v1 (champion) | 2016-03-09 | 0.700 | 0.500 | 0.200 |" in second.output
    assert before["model_version"] == "first"
    assert after["model_version"] == health["model_version"] == "better"
    halved = before["scores"][0]["probability"] * 0.5
    assert abs(after["scores"][0]["probability"] - halved) < 1e-9
    assert current_version(store.model_dir) == "better"
    assert _champion(store) == "2"


def test_refused_promotion_leaves_the_champion_serving(store: Settings) -> None:
    from api.app import create_app
    from training.registry import MODEL_NAME, connect

    _register(store, "first", scale=1.0, model_p=(0.70, 0.60))  # lift 0.15
    assert _promote().exit_code == 0
    _register(store, "weaker", scale=0.5, model_p=(0.65, 0.55))  # lift 0.10

    with TestClient(create_app(store), headers=admin_headers(store)) as client:
        refused = _promote()
        kept = client.post("/v1/risk-scores", json=BODY).json()
        unexplained = _promote("2", "--force")
        forced = _promote("2", "--force", "--reason", "desk changed its policy")
        overridden = client.post("/v1/risk-scores", json=BODY).json()

    assert refused.exit_code == 1
    assert (
        "mean precision@50 lift over the rule +0.100 is below the champion's +0.150"
        in refused.output
    )
    assert "the service keeps version 1" in refused.output
    assert kept["model_version"] == "first"
    assert unexplained.exit_code == 2 and "--force needs --reason" in unexplained.output
    assert forced.exit_code == 0, forced.output
    assert overridden["model_version"] == "weaker"
    tags = connect(store.mlflow_tracking_uri).get_model_version(MODEL_NAME, "2").tags
    assert tags["promotion"] == "forced"
    assert tags["promotion_reason"] == "desk changed its policy"


def test_promote_refuses_a_bundle_altered_in_the_model_store(store: Settings) -> None:
    _register(store, "first", scale=1.0, model_p=(0.70, 0.60))
    bundle = load_bundle(store.model_dir, "first")
    bundle.calibration_y = bundle.calibration_y * 0.9
    # Rewritten with a matching hash file, but not the bytes registered.
    shutil.rmtree(store.model_dir / "first")
    write_bundle(bundle, store.model_dir, card_text="altered\n")
    before = current_version(store.model_dir)

    result = _promote()

    assert result.exit_code == 2
    assert "differs from the one registered" in result.output
    assert current_version(store.model_dir) == before != "first"
    assert _champion(store) is None


def test_promote_fetches_a_bundle_missing_from_the_model_store(
    store: Settings,
) -> None:
    _register(store, "elsewhere", scale=1.0, model_p=(0.70, 0.60))
    recorded = (store.model_dir / "elsewhere" / "bundle.sha256").read_text()
    shutil.rmtree(store.model_dir / "elsewhere")  # trained on another machine

    result = _promote()

    assert result.exit_code == 0, result.output
    assert (store.model_dir / "elsewhere" / "bundle.sha256").read_text() == recorded
    assert current_version(store.model_dir) == "elsewhere"
    assert load_bundle(store.model_dir).version == "elsewhere"
