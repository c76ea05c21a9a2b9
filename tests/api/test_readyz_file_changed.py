"""The served bundle's file damaged while the service runs.

The worker keeps ranking with the model it loaded and checked at start, but
/readyz must say the file on disk changed, since a restart (or another worker
starting) would rank by the SLA rules alone. Putting the original bytes back
makes it ready again without a restart.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stallwatch.settings import Settings
from tests.api.test_readyz_degraded import DAMAGE, bearer
from training.bundle import BUNDLE_FILE, HASH_FILE, current_version


@pytest.mark.parametrize("damage", ["deleted", "byte_flipped", "rehashed_garbage"])
def test_damage_after_loading_is_reported_and_the_loaded_model_kept(
    damage: str, trained: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    settings = trained.model_copy(update={"model_dir": model_dir})
    headers = bearer(settings.database_url)
    version = current_version(model_dir)
    assert version is not None
    folder = model_dir / version
    original = (folder / BUNDLE_FILE).read_bytes()
    harm: Callable[[Path], None] = DAMAGE[damage][0]
    body = {"tickets": [{"ticket_id": "INC0000047"}], "at": "2016-02-29T12:00:00Z"}

    with TestClient(create_app(settings)) as client:
        before = client.get("/readyz").json()
        score_before = client.post("/v1/risk-scores", json=body, headers=headers)
        harm(folder)
        during = client.get("/readyz").json()
        score_during = client.post("/v1/risk-scores", json=body, headers=headers)
        (folder / BUNDLE_FILE).write_bytes(original)
        if damage == "rehashed_garbage":
            shutil.copy(trained.model_dir / version / HASH_FILE, folder)
        after = client.get("/readyz").json()

    assert before["status"] == "ready" and before["reason"] is None
    assert during["status"] == "degraded"
    assert during["reason"] == "model_file_changed"
    assert during["model_version"] == version
    # The loaded, checked model keeps scoring, with the same answer.
    assert score_during.status_code == 200, score_during.text
    assert score_during.json()["scores"] == score_before.json()["scores"]
    assert after["status"] == "ready" and after["reason"] is None
