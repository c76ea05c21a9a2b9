"""A newly promoted model is served without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from stallwatch.settings import Settings
from training.bundle import current_version, load_bundle, save_bundle


def test_service_serves_a_newly_promoted_bundle_without_restart(
    trained: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    settings = trained.model_copy(update={"model_dir": model_dir})
    first = current_version(model_dir)
    body = {"tickets": [{"ticket_id": "INC0000047"}], "at": "2016-02-29T12:00:00Z"}

    with TestClient(create_app(settings)) as client:
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

    with TestClient(create_app(settings)) as client:
        broken = model_dir / "broken"
        shutil.copytree(model_dir / first, broken)
        (broken / "bundle.joblib").write_bytes(b"not a model")
        (model_dir / "CURRENT").write_text("broken\n")

        health = client.get("/healthz").json()

    assert health["model_version"] == first
