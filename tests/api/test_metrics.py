"""/metrics: counters move by exactly what the test did; a key is needed.

Scraped with a real API key, parsed with prometheus_client's own text parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from features.access.keys import create_key
from features.store import create_schema, make_engine, read_events
from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FIELDS = ["occurred_at", "kind", "actor_role", "group", "status", "priority"]


def scrape(client: TestClient, token: str) -> Samples:
    """Return every sample of /metrics, keyed by name and sorted labels."""
    response = client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value (0 when the series does not exist yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def served(trained: Settings, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The trained model served over an empty store, with three real keys."""
    from api.app import create_app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    keys = {
        name: create_key(engine, name=name, scopes=scopes)[1]
        for name, scopes in {
            "prometheus": ["metrics:read"],
            "crm": ["events:write", "scores:read"],
        }.items()
    }
    settings = trained.model_copy(
        update={
            "database_url": url,
            "alert_rules": None,
            "session_secret_file": tmp_path / "session-secret",
        }
    )
    with TestClient(create_app(settings)) as client:
        yield {"client": client, "keys": keys, "trained": trained}
    engine.dispose()


def _ticket_events(trained: Settings, ticket: str) -> list[dict[str, Any]]:
    """One real ticket's events up to the replay moment, as a CRM sends them."""
    events = read_events(make_engine(trained.database_url), ticket_ids=[ticket])
    rows = events[events["occurred_at"] <= pd.Timestamp(REPLAY_MOMENT)][FIELDS]
    rows["occurred_at"] = rows["occurred_at"].map(lambda t: t.isoformat())
    return [
        {k: v for k, v in r.items() if not pd.isna(v)} for r in rows.to_dict("records")
    ]


def test_metrics_count_requests_scores_and_events_exactly(
    served: dict[str, Any],
) -> None:
    client, keys, trained = served["client"], served["keys"], served["trained"]
    crm = {"authorization": f"Bearer {keys['crm']}"}
    tickets = ["INC0000045", "INC0000047"]
    batch = [{"ticket_id": t, "events": _ticket_events(trained, t)} for t in tickets]
    live = [
        {
            "event_id": f"m-{n}",
            "ticket_id": "M1",
            "source": "crm",
            "seq": n,
            "occurred_at": f"2016-03-16T0{n}:00:00+00:00",
            "kind": "created" if n == 1 else "internal_note",
            "actor_role": "agent",
        }
        for n in range(1, 5)
    ]
    bad = {**live[0], "event_id": "m-bad", "kind": "not-a-kind"}

    before = scrape(client, keys["prometheus"])
    scored = [
        client.post("/v1/risk-scores", json={"tickets": batch}, headers=crm)
        for _ in range(3)
    ]
    unknown = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "NOPE"}]}, headers=crm
    )
    first = client.post("/v1/events", json={"events": [*live, bad]}, headers=crm)
    again = client.post("/v1/events", json={"events": [*live, bad]}, headers=crm)
    clocks = [client.get("/v1/tickets/M1/sla", headers=crm) for _ in range(2)]
    after = scrape(client, keys["prometheus"])

    assert [r.status_code for r in scored] == [200, 200, 200]
    assert unknown.status_code == 422
    assert first.json()["stored"] == 4 and again.json()["duplicates"] == 4
    assert [r.status_code for r in clocks] == [200, 200]

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "stallwatch_http_requests_total"
    assert moved("stallwatch_risk_scores_total") == 3 * len(tickets)
    assert moved(requests, route="/v1/risk-scores", method="POST", status="200") == 3
    assert moved(requests, route="/v1/risk-scores", method="POST", status="422") == 1
    assert moved(requests, route="/v1/events", method="POST", status="200") == 2
    sla_route = "/v1/tickets/{ticket_id}/sla"
    assert moved(requests, route=sla_route, method="GET", status="200") == 2
    # the first scrape is counted once it has answered; the second after
    assert moved(requests, route="/metrics", method="GET", status="200") == 1
    latency = "stallwatch_http_request_duration_seconds_count"
    assert moved(latency, route="/v1/risk-scores", method="POST") == 4
    assert moved("stallwatch_events_total", outcome="stored") == 4
    assert moved("stallwatch_events_total", outcome="duplicate") == 4
    assert moved("stallwatch_events_total", outcome="rejected") == 2
    assert moved("stallwatch_events_total", outcome="conflict") == 0
    # route labels are templates: no ticket id ever becomes a label value
    assert not [key for key in after if any("M1" in v for _, v in key[1])]

    current = (trained.model_dir / "CURRENT").read_text().strip()
    assert value(after, "stallwatch_model_info", version=current) == 1
    assert value(after, "stallwatch_model_loaded") == 1
    assert value(after, "stallwatch_outbox_pending") == 0


def test_metrics_refuse_a_missing_key_and_a_key_without_the_scope(
    served: dict[str, Any],
) -> None:
    client, keys = served["client"], served["keys"]

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"authorization": f"Bearer {keys['crm']}"})

    assert missing.status_code == 401
    assert wrong.status_code == 403
    assert "metrics:read" in wrong.json()["message"]
    assert "stallwatch_" not in missing.text + wrong.text


def test_request_id_is_echoed_when_valid_and_replaced_when_not(
    served: dict[str, Any],
) -> None:
    client = served["client"]

    given = client.get("/healthz", headers={"x-request-id": "crm-42.a:b_c"})
    too_long = client.get("/healthz", headers={"x-request-id": "a" * 129})
    odd = client.get("/healthz", headers={"x-request-id": "id with spaces"})
    none = [client.get("/healthz") for _ in range(2)]

    assert given.headers["x-request-id"] == "crm-42.a:b_c"
    made = [too_long, odd, *none]
    ids = [r.headers["x-request-id"] for r in made]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
