"""Shared fixtures: tiny hand-made logs, the bundled real log, a trained slice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.events import conform_events
from stallwatch.settings import Settings

REPO = Path(__file__).resolve().parent.parent
UCI_FILE = REPO / "data" / "uci_incidents" / "incident_event_log.csv.gz"
#: A moment inside the slice of the real log that the end-to-end tests use.
REPLAY_MOMENT = "2016-03-16T09:00:00+00:00"

EventMaker = Callable[..., dict[str, Any]]


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so every run sees the same numbers."""
    return np.random.default_rng(20261204)


@pytest.fixture
def event() -> EventMaker:
    """Build one canonical event; defaults describe an agent's action."""
    counter = iter(range(1_000_000))

    def make(ticket: str, at: str, kind: str, **fields: Any) -> dict[str, Any]:
        n = next(counter)
        return {
            "event_id": f"t:{ticket}:{n}",
            "source": "test",
            "ticket_id": ticket,
            "seq": n,
            "occurred_at": pd.Timestamp(at),
            "kind": kind,
            "actor_role": fields.pop("actor_role", "agent"),
            **fields,
        }

    return make


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Return canonical events from dicts."""
    return conform_events(pd.DataFrame(rows))


@pytest.fixture(scope="session")
def uci_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40,000 data rows of the bundled real log, as a plain CSV."""
    path = tmp_path_factory.mktemp("uci") / "uci_head.csv"
    rows = pd.read_csv(UCI_FILE, dtype=str, keep_default_na=False, nrows=40_000)
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def uci_events(uci_head: Path) -> pd.DataFrame:
    """Canonical events of the real slice."""
    from features.importers.uci import load_uci

    return load_uci(uci_head).events


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file store."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL ``test`` database."""
    import uuid

    import sqlalchemy as sa

    schema = f"sw_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    yield (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        f"?options=-csearch_path%3D{schema}"
    )
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, uci_head: Path
) -> Iterator[Settings]:
    from stallwatch.cli import app

    root = tmp_path_factory.mktemp("e2e")
    env = {
        "STALLWATCH_DATABASE_URL": f"sqlite:///{root / 'store.db'}",
        "STALLWATCH_MODEL_DIR": str(root / "models"),
        "STALLWATCH_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_TRACKING_URI": "",
    }
    runner = CliRunner()
    from stallwatch.settings import get_settings

    get_settings.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        first = runner.invoke(app, ["import", "uci", str(uci_head)])
        again = runner.invoke(app, ["import", "uci", str(uci_head)])
        trained = runner.invoke(app, ["train", "--gap-days", "1"])
        # Only promotion serves a model; this slice is too small to pass the gate.
        promoted = runner.invoke(
            app, ["promote", "--force", "--reason", "test fixture: a 40,000-row slice"]
        )
        settings = Settings()
    get_settings.cache_clear()

    assert first.exit_code == 0, first.output
    assert "40000 rows" in first.output and "new)" in first.output
    assert "(0 new)" in again.output
    assert trained.exit_code == 0, trained.output
    assert "PR-AUC, first moment" in trained.output
    assert promoted.exit_code == 0, promoted.output
    settings.now = pd.Timestamp(REPLAY_MOMENT).to_pydatetime()
    yield settings
