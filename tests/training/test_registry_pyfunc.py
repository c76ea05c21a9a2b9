"""The registered model: its registry record, and MLflow scoring like stallwatch."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT
from training.bundle import HASH_FILE, current_version


@pytest.fixture
def registry(trained: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The registry the session's training run wrote to (read only here)."""
    from training.registry import connect

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield connect(trained.mlflow_tracking_uri)


@pytest.fixture(scope="module")
def feature_rows(trained: Settings) -> pd.DataFrame:
    """The open tickets' feature rows at the replay moment, as the service sees them."""
    from features.sla.desk import load_desk_file
    from features.store import make_engine
    from models.backlog import Backlog

    backlog = Backlog(
        make_engine(trained.database_url), load_desk_file(trained.sla_desk)
    )
    rows = backlog.open_rows(pd.Timestamp(REPLAY_MOMENT).to_pydatetime())
    assert len(rows) > 100
    return rows.head(200).reset_index(drop=True)


def _served(trained: Settings, rows: pd.DataFrame) -> np.ndarray:
    from models.scorer import StallScorer

    return StallScorer.load(trained.model_dir).probabilities(rows)


def _plain_json_rows(rows: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """``dataframe_split`` with strings for categories and null for missing."""
    data = [
        [None if pd.isna(v) else (v if isinstance(v, str) else float(v)) for v in row]
        for row in rows[columns].astype(object).itertuples(index=False)
    ]
    return {"dataframe_split": {"columns": columns, "data": data}}


def test_training_registers_a_version_tied_to_its_bundle(
    trained: Settings, registry: Any
) -> None:
    from training.registry import MODEL_NAME, champion_version, model_record

    record = model_record(registry, "1")
    tags = registry.get_model_version(MODEL_NAME, "1").tags

    bundle = current_version(trained.model_dir)
    assert record.bundle_version == bundle
    assert (trained.model_dir / bundle / HASH_FILE).read_text().strip() == (
        record.bundle_sha256
    )
    assert (record.k, record.label) == (50, "source")
    assert len(record.per_cutoff) == 3
    assert all("rule.first_precision_at_k" in row for row in record.per_cutoff)
    # The conftest forced this slice's model in, with its reason.
    assert champion_version(registry) == "1"
    assert tags["promotion"] == "forced"
    assert tags["promotion_reason"] == "test fixture: a 40,000-row slice"


def test_model_record_names_the_registered_versions_when_one_is_missing(
    registry: Any,
) -> None:
    from training.registry import PromotionError, model_record

    with pytest.raises(PromotionError, match="has no version '7'; registered: 1"):
        model_record(registry, "7")


def test_pyfunc_gives_the_scorer_probabilities_for_string_categories(
    trained: Settings, registry: Any, feature_rows: pd.DataFrame
) -> None:
    import mlflow.pyfunc

    from training.pyfunc import input_columns

    model = mlflow.pyfunc.load_model("models:/stallwatch@champion")
    categorical, numeric = input_columns(model.unwrap_python_model().bundle)
    sent = feature_rows[categorical + numeric].copy()
    for name in categorical:  # plain Python strings, as JSON would carry them
        sent[name] = sent[name].astype(object).where(sent[name].notna(), None)
    sent.loc[0, "category"] = "a category never seen in training"

    out = model.predict(sent)

    expected_rows = feature_rows.copy()
    expected_rows.loc[0, "category"] = None  # unseen counts as missing
    expected = _served(trained, expected_rows)
    assert list(out.columns) == ["stall_probability", "risk_band"]
    assert np.allclose(out["stall_probability"].to_numpy(), expected, atol=1e-12)
    assert set(out["risk_band"]) <= {"high", "medium", "low"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, Any] = json.load(answer)
    return result


def test_mlflow_models_serve_gives_the_scorer_probabilities(
    trained: Settings, feature_rows: pd.DataFrame, tmp_path: Path
) -> None:
    from training.bundle import load_bundle
    from training.pyfunc import input_columns

    port = _free_port()
    # mlflow starts `uvicorn` by name: the venv's scripts must be on PATH even
    # when the tests run without an activated venv (as `make test` does).
    scripts = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": trained.mlflow_tracking_uri,
        "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
    }
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [
            str(mlflow_cli),
            "models",
            "serve",
            "-m",
            "models:/stallwatch@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/ping", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "serve.log").read_text()[-3000:])
                time.sleep(0.5)
        bundle = load_bundle(trained.model_dir)
        categorical, numeric = input_columns(bundle)
        body = _plain_json_rows(feature_rows, categorical + numeric)
        answer = _post(f"{base}/invocations", body)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    sent = {type(row[i]) for row in body["dataframe_split"]["data"] for i in range(2)}
    assert str in sent and sent <= {str, type(None)}  # categories as JSON strings
    got = np.array([p["stall_probability"] for p in answer["predictions"]])
    expected = _served(trained, feature_rows)
    assert len(got) == len(feature_rows)
    assert np.allclose(got, expected, atol=1e-9)
    assert not any(math.isnan(p) for p in got)
