"""A training run killed with SIGKILL while it writes its bundle changes nothing served.

``stallwatch train`` runs as a real subprocess on a real slice of the UCI log,
in a model store whose CURRENT names an earlier, promoted bundle. An audit
hook, installed before the command starts, freezes the process (SIGSTOP) at an
exact moment of the bundle write; the test then checks the process is frozen
there and kills it. Afterwards CURRENT still names the earlier bundle, the
hidden staging folder cannot be loaded, nor can the new version, nothing
reached MLflow, the service still serves the earlier bundle, and training
again succeeds and leaves CURRENT alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine, read_events
from stallwatch.importing import import_builtin
from stallwatch.settings import Settings
from tests.conftest import REPO, UCI_FILE
from tests.credentials import admin_headers
from tests.processes import kill_frozen, process_state, reap, wait_until
from training.bundle import (
    BUNDLE_FILE,
    CARD_FILE,
    CURRENT_FILE,
    HASH_FILE,
    STAGING_PREFIX,
    BundleError,
    current_version,
    load_bundle,
)

pytestmark = pytest.mark.slow

#: Runs ``stallwatch`` with an audit hook that freezes the process at a moment.
#: ``hash``: bundle.joblib is written and synced, its hash not yet; ``rename``:
#: every file is in the staging folder, one rename short of being published.
BOOTSTRAP = """
import os, runpy, signal, sys

moment, staging, hash_file = (sys.argv.pop(1) for _ in range(3))

def freeze_at(event, args):
    if not args or not isinstance(args[0], (str, os.PathLike)):
        return
    path = str(os.fspath(args[0]))
    if os.sep + staging not in path:
        return
    if (moment == "hash" and event == "open" and path.endswith(os.sep + hash_file)) or (
        moment == "rename" and event == "os.rename"
    ):
        os.kill(os.getpid(), signal.SIGSTOP)

sys.addaudithook(freeze_at)
sys.argv[0] = "stallwatch"
runpy.run_module("stallwatch.cli", run_name="__main__", alter_sys=True)
"""
#: Quick settings: no SLA features, a one-day gap on a slice of 20,000 rows.
TRAIN = ["train", "--gap-days", "1", "--no-sla-features"]
#: (store, moment): each store is killed at one of the two moments.
CASES = [
    pytest.param("sqlite_url", "hash", id="sqlite-bundle-without-hash"),
    pytest.param(
        "postgres_url",
        "rename",
        id="postgresql-before-rename",
        marks=pytest.mark.postgres,
    ),
]
#: What the staging folder holds when the process is frozen.
STAGED = {
    "hash": {BUNDLE_FILE},
    "rename": {BUNDLE_FILE, HASH_FILE, CARD_FILE, "evaluation.md"},
}


@pytest.fixture(scope="module")
def uci_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 20,000 rows of the bundled real log, as a plain CSV."""
    path = tmp_path_factory.mktemp("uci-slice") / "uci_20000.csv"
    rows = pd.read_csv(UCI_FILE, dtype=str, keep_default_na=False, nrows=20_000)
    rows.to_csv(path, index=False)
    return path


def _served(
    url: str, model_dir: Path, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ask a fresh service on the store what it serves: readiness and one score."""
    from api.app import create_app

    engine = make_engine(url)
    events = read_events(engine)
    engine.dispose()
    ticket = str(events["ticket_id"].iloc[0])
    at = events["occurred_at"].max().isoformat()
    settings = Settings(
        database_url=url,
        model_dir=model_dir,
        alert_rules=None,
        session_secret_file=tmp_path / "session-secret",
    )
    with TestClient(create_app(settings), headers=admin_headers(url)) as client:
        ready = client.get("/readyz")
        body = {"tickets": [{"ticket_id": ticket}], "at": at}
        scored = client.post("/v1/risk-scores", json=body)
    assert ready.status_code == 200, ready.text
    assert scored.status_code == 200, scored.text
    return ready.json(), scored.json()


@pytest.mark.parametrize(("store", "moment"), CASES)
def test_training_killed_while_writing_its_bundle_keeps_the_served_model(
    store: str,
    moment: str,
    request: pytest.FixtureRequest,
    trained: Settings,
    uci_slice: Path,
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue(store)
    engine = make_engine(url)
    create_schema(engine)
    import_builtin(engine, "uci", uci_slice, source_timezone=None)
    engine.dispose()
    # The model store already serves an earlier bundle.
    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    previous = current_version(model_dir)
    assert previous is not None
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "STALLWATCH_DATABASE_URL": url,
        "STALLWATCH_MODEL_DIR": str(model_dir),
        "STALLWATCH_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLFLOW_TRACKING_URI": "",
        "STALLWATCH_LOG_FORMAT": "json",
    }

    # Train until the audit hook freezes the bundle write, then kill.
    hooked = [sys.executable, "-c", BOOTSTRAP, moment, STAGING_PREFIX, HASH_FILE]
    started = time.monotonic()
    killed_log = tmp_path / "killed.log"
    with killed_log.open("wb") as out:
        process = subprocess.Popen(
            [*hooked, *TRAIN],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: process_state(process.pid) in ("T", "t"),
            seconds=600,
            what=f"training to reach the bundle write ({moment})",
            process=process,
            interval=0.05,
        )
        entries = set(os.listdir(model_dir))
        staged = {e for e in entries if e.startswith(STAGING_PREFIX)}
        assert len(staged) == 1, f"model store at the kill: {sorted(entries)}"
        staging = staged.pop()
        in_staging = set(os.listdir(model_dir / staging))
        bundle_bytes = (model_dir / staging / BUNDLE_FILE).stat().st_size
        landed = time.monotonic() - started
        kill_frozen(process)
    finally:
        reap(process)
    version = staging.removeprefix(STAGING_PREFIX)
    log = killed_log.read_text()
    print(
        f"\n{request.node.name}: killed at '{moment}' of bundle {version}, "
        f"{landed:.1f} s after start; staging held {sorted(in_staging)}, "
        f"{BUNDLE_FILE} {bundle_bytes} bytes"
    )
    assert in_staging == STAGED[moment], log[-3000:]
    assert '"training_finished"' not in log and "cutoff_evaluated" in log

    # Nothing new is served, or even loadable.
    assert set(os.listdir(model_dir)) == {CURRENT_FILE, previous, staging}
    assert current_version(model_dir) == previous
    assert load_bundle(model_dir).version == previous
    with pytest.raises(BundleError, match="is not a folder name of the model store"):
        load_bundle(model_dir, staging)
    with pytest.raises(BundleError, match=f"model '{version}' has no bundle.joblib"):
        load_bundle(model_dir, version)
    assert not (tmp_path / "mlflow.db").exists(), "the killed run reached MLflow"
    ready, scored = _served(url, model_dir, tmp_path)
    assert (ready["status"], ready["model_version"]) == ("ready", previous), ready
    assert ready["wanted_version"] == previous
    assert scored["model_version"] == previous

    # Training again succeeds and leaves CURRENT alone.
    again = subprocess.run(
        [sys.executable, "-m", "stallwatch.cli", *TRAIN],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    written = re.search(r"model (\S+) written to", again.stdout)
    assert written, again.stdout[-3000:]
    assert "registered as version 1" in again.stdout
    fresh = load_bundle(model_dir, written.group(1))
    assert fresh.version == written.group(1) != previous
    assert current_version(model_dir) == previous
