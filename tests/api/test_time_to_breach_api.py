"""The time-to-breach fields of risk scores and escalations, on a trained slice."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import joblib
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT as MOMENT
from tests.credentials import admin_headers
from training.bundle import load_bundle, save_bundle

FIELDS = {"median_business_hours", "p90_business_hours"}


@pytest.fixture(scope="module")
def client(trained: Settings) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(trained), headers=admin_headers(trained)) as test_client:
        yield test_client


Direct = Callable[[list[str]], dict[str, tuple[float, float]]]


@pytest.fixture(scope="module")
def direct(trained: Settings) -> Direct:
    """The loaded bundle's hazard model, asked directly for tickets at MOMENT."""
    from features.sla.desk import load_desk_file
    from features.store import make_engine
    from models.backlog import Backlog
    from models.scorer import StallScorer

    engine = make_engine(trained.database_url)
    backlog = Backlog(engine, load_desk_file(trained.sla_desk))
    scorer = StallScorer.load(trained.model_dir)

    def ask(ticket_ids: list[str]) -> dict[str, tuple[float, float]]:
        at = pd.Timestamp(MOMENT).to_pydatetime()
        rows = backlog.stored_rows(ticket_ids, at)
        times = scorer.times_to_breach(rows)
        out = {}
        for ticket, time in zip(rows["ticket_id"], times, strict=True):
            assert time is not None
            out[str(ticket)] = (time.median_business_hours, time.p90_business_hours)
        return out

    return ask


def test_risk_scores_time_to_breach_equals_the_scorer(
    client: TestClient, trained: Settings, direct: Direct
) -> None:
    page = client.get("/v1/escalations", params={"limit": 5}).json()
    tickets = [item["ticket_id"] for item in page["items"]]
    breached = {i["ticket_id"] for i in page["items"] if i["sla_breached_since"]}

    body = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": t} for t in tickets]}
    ).json()

    expected = direct(tickets)
    horizon = float(load_bundle(trained.model_dir).time_to_breach.edges[-1])  # type: ignore[union-attr]
    for score in body["scores"]:
        served = score["time_to_breach"]
        # Until breach or resolution: nothing left once the SLA is breached.
        if score["ticket_id"] in breached:
            assert served is None
            continue
        assert set(served) == FIELDS
        median, p90 = expected[score["ticket_id"]]
        assert served["median_business_hours"] == pytest.approx(median, abs=1e-9)
        assert served["p90_business_hours"] == pytest.approx(p90, abs=1e-9)
        assert 0.0 <= median <= p90 <= horizon


def test_escalations_time_to_breach_equals_the_scorer(
    client: TestClient, direct: Direct
) -> None:
    items = client.get("/v1/escalations", params={"limit": 8}).json()["items"]

    expected = direct([item["ticket_id"] for item in items])

    assert len(items) == 8
    for item in items:
        served = item["time_to_breach"]
        if item["sla_breached_since"] is not None:
            assert served is None
            continue
        median, p90 = expected[item["ticket_id"]]
        assert served == {
            "median_business_hours": pytest.approx(median, abs=1e-9),
            "p90_business_hours": pytest.approx(p90, abs=1e-9),
        }


def test_bundle_without_time_to_breach_serves_null(
    trained: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    model_dir = tmp_path / "models"
    shutil.copytree(trained.model_dir, model_dir)
    bundle = load_bundle(model_dir)
    bundle.version, bundle.time_to_breach = "no-ttb", None
    save_bundle(bundle, model_dir, card_text="no time-to-breach model\n")
    settings = trained.model_copy(update={"model_dir": model_dir})

    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        items = client.get("/v1/escalations", params={"limit": 3}).json()["items"]
        ticket = items[0]["ticket_id"]
        scores = client.post(
            "/v1/risk-scores", json={"tickets": [{"ticket_id": ticket}]}
        ).json()["scores"]

    assert [i["time_to_breach"] for i in items] == [None, None, None]
    assert scores[0]["time_to_breach"] is None
    assert scores[0]["probability"] is not None


def test_bundle_pickled_before_the_field_loads_as_none(
    trained: Settings, tmp_path: Path
) -> None:
    bundle = load_bundle(trained.model_dir)
    del bundle.__dict__["time_to_breach"]  # as pickled by an older stallwatch
    joblib.dump(bundle, tmp_path / "old.joblib")

    old = joblib.load(tmp_path / "old.joblib")

    assert "time_to_breach" not in old.__dict__
    assert old.time_to_breach is None


def test_served_time_to_breach_learned_from_censored_moments(
    trained: Settings,
) -> None:
    model = load_bundle(trained.model_dir).time_to_breach

    # The slice ends with tickets still open: they enter as censored moments.
    assert model is not None
    assert model.card["censored_moments"] > 0
    assert model.card["observed_moments"] > 0
    assert list(model.edges) == sorted(set(model.edges))
