"""Live events from a CRM: idempotent, order-free, nothing lost; both stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.store import make_engine, read_events, rejected_table
from stallwatch.settings import Settings
from tests.credentials import admin_headers

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]
FIELDS = (
    *("kind", "actor", "actor_role", "requester", "group", "assignee", "status"),
    *("priority", "channel", "category", "subcategory", "topic"),
)


def _payload(uci_events: pd.DataFrame, n_tickets: int) -> list[dict[str, Any]]:
    tickets = uci_events["ticket_id"].drop_duplicates().iloc[100 : 100 + n_tickets]
    rows = uci_events[uci_events["ticket_id"].isin(tickets)]
    out = []
    for row in rows.to_dict("records"):
        event = {k: row[k] for k in FIELDS if not pd.isna(row[k])}
        event |= {
            "event_id": row["event_id"],
            "ticket_id": row["ticket_id"],
            "source": "crm",
            "seq": int(row["seq"]),
            "occurred_at": row["occurred_at"].isoformat(),
        }
        out.append(event)
    return out


@pytest.fixture
def app_for(trained: Settings) -> Iterator[Any]:
    from api.app import create_app

    clients: list[TestClient] = []

    def make(url: str) -> TestClient:
        settings = trained.model_copy(update={"database_url": url})
        client = TestClient(create_app(settings), headers=admin_headers(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _store(url: str) -> pd.DataFrame:
    return read_events(make_engine(url))


@pytest.mark.parametrize("store", STORES)
def test_events_twice_and_shuffled_give_the_same_store_and_scores(
    store: str,
    request: pytest.FixtureRequest,
    app_for: Any,
    uci_events: pd.DataFrame,
    rng: np.random.Generator,
    tmp_path: Any,
) -> None:
    url = request.getfixturevalue(store)
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    events = _payload(uci_events, 25)
    shuffled = [events[i] for i in rng.permutation(len(events))]

    live, reference = app_for(url), app_for(reference_url)
    first = live.post("/v1/events", json={"events": shuffled[: len(events) // 2]})
    second = live.post("/v1/events", json={"events": shuffled})
    again = live.post("/v1/events", json={"events": events})
    once = reference.post("/v1/events", json={"events": events})

    half = len(events) // 2
    assert first.json()["stored"] == half
    assert (second.json()["stored"], second.json()["duplicates"]) == (
        len(events) - half,
        half,
    )
    assert again.json()["duplicates"] == len(events)
    assert once.json()["stored"] == len(events)
    pd.testing.assert_frame_equal(_store(url), _store(reference_url))

    tickets = [{"ticket_id": t} for t in sorted({e["ticket_id"] for e in events})]
    body = {"tickets": tickets, "at": "2016-03-05T12:00:00Z"}
    scores = live.post("/v1/risk-scores", json=body).json()["scores"]
    expected = reference.post("/v1/risk-scores", json=body).json()["scores"]
    assert scores == expected


@pytest.mark.parametrize("store", STORES)
def test_events_bad_one_is_rejected_alone_and_kept(
    store: str, request: pytest.FixtureRequest, app_for: Any, uci_events: pd.DataFrame
) -> None:
    url = request.getfixturevalue(store)
    events = _payload(uci_events, 1)[:3]
    bad = {"event_id": "x-1", "ticket_id": "T", "kind": "created", "priorty": "low"}

    response = app_for(url).post("/v1/events", json={"events": [*events, bad]})

    body = response.json()
    assert response.status_code == 200
    assert (body["stored"], body["rejected"]) == (3, 1)
    result = body["results"][3]
    assert (result["status"], result["event_id"]) == ("rejected", "x-1")
    locs = [p["loc"] for p in result["problems"]]
    assert ["body", "events", 3, "occurred_at"] in locs
    assert ["body", "events", 3, "priorty"] in locs
    with make_engine(url).connect() as conn:
        kept = conn.execute(sa.select(rejected_table.c.payload)).scalars().all()
    assert [json.loads(k) for k in kept] == [bad]
    assert len(_store(url)) == 3


def test_events_refuse_an_empty_batch(app_for: Any, sqlite_url: str) -> None:
    response = app_for(sqlite_url).post("/v1/events", json={"events": []})

    assert response.status_code == 422
    assert response.json()["details"][0]["loc"] == ["body", "events"]


def test_events_resent_with_other_content_is_a_conflict_and_kept(
    app_for: Any, sqlite_url: str, uci_events: pd.DataFrame
) -> None:
    events = _payload(uci_events, 1)[:2]
    changed = {**events[1], "kind": "resolved", "status": "resolved"}
    client = app_for(sqlite_url)
    client.post("/v1/events", json={"events": events})
    before = _store(sqlite_url)

    again = client.post("/v1/events", json={"events": [events[0], changed]}).json()
    twice = client.post(
        "/v1/events", json={"events": [{**events[0], "event_id": "n1"}] * 2}
    ).json()

    assert [r["status"] for r in again["results"]] == ["duplicate", "conflict"]
    assert again["conflicts"] == 1
    assert (
        "already stored with other content"
        in again["results"][1]["problems"][0]["message"]
    )
    assert [r["status"] for r in twice["results"]] == ["stored", "duplicate"]
    after = _store(sqlite_url)
    kept_before = after[after["event_id"] != "crm:n1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept_before, before)
    with make_engine(sqlite_url).connect() as conn:
        kept = conn.execute(sa.select(rejected_table.c.payload)).scalars().all()
    assert [json.loads(k) for k in kept] == [changed]


def test_ticket_known_only_after_now_is_refused_not_crashed(
    app_for: Any, sqlite_url: str
) -> None:
    later = {"occurred_at": "2016-06-01T10:00:00Z", "kind": "created", "status": "new"}
    client = app_for(sqlite_url)
    client.post(
        "/v1/events", json={"events": [{**later, "event_id": "f1", "ticket_id": "F1"}]}
    )

    by_id = client.post("/v1/risk-scores", json={"tickets": [{"ticket_id": "F1"}]})
    by_events = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "F2", "events": [later]}]}
    )

    for response in (by_id, by_events):
        assert response.status_code == 422
        assert response.json()["details"][0]["loc"] == ["body", "at"]


def test_merge_is_final_in_every_endpoint(app_for: Any, sqlite_url: str) -> None:
    client = app_for(sqlite_url)
    base = {"ticket_id": "sys/M1", "source": "crm"}
    events = [
        {**base, "event_id": "m0", "occurred_at": "2016-03-10T08:00:00Z",
         "kind": "created", "status": "new"},
        {**base, "event_id": "m1", "occurred_at": "2016-03-10T09:00:00Z",
         "kind": "merged"},
        {**base, "event_id": "m2", "occurred_at": "2016-03-11T09:00:00Z",
         "kind": "reopened"},
    ]  # fmt: skip
    client.post("/v1/events", json={"events": events})

    risk = client.post("/v1/risk-scores", json={"tickets": [{"ticket_id": "sys/M1"}]})
    sla = client.get("/v1/tickets/sys/M1/sla").json()
    listed = client.get("/v1/escalations", params={"limit": 500}).json()

    assert risk.json()["scores"][0]["is_open"] is False
    assert sla["merged"] is True
    assert {c["state"] for c in sla["clocks"]} == {"none"}
    assert "sys/M1" not in {i["ticket_id"] for i in listed["items"]}


def test_events_refuse_nul_characters(app_for: Any, sqlite_url: str) -> None:
    event = {"event_id": "n", "ticket_id": "T-1", "occurred_at": "2016-03-10T08:00Z",
             "kind": "created", "topic": "printer\u0000jam"}  # fmt: skip

    body = app_for(sqlite_url).post("/v1/events", json={"events": [event]}).json()

    assert body["results"][0]["status"] == "rejected"
    problem = body["results"][0]["problems"][0]
    assert problem["loc"] == ["body", "events", 0, "topic"]
    assert "NUL" in problem["message"]


def test_backlog_update_equals_a_full_rebuild(
    sqlite_url: str, uci_events: pd.DataFrame
) -> None:
    from features.sla.desk import load_desk_file
    from features.store import create_schema, write_events
    from models.backlog import Backlog

    engine = make_engine(sqlite_url)
    create_schema(engine)
    tickets = uci_events["ticket_id"].drop_duplicates().iloc[:60]
    events = uci_events[uci_events["ticket_id"].isin(tickets)]
    early = events["ticket_id"].isin(tickets.iloc[:40]) & (
        events["occurred_at"] < events["occurred_at"].quantile(0.5)
    )
    write_events(engine, events[early])
    desk = load_desk_file(Settings().sla_desk)
    live = Backlog(engine, desk)
    live.states()

    def no_rebuild(version: int) -> None:
        raise AssertionError("the update should not read the whole store")

    live._rebuild = no_rebuild  # type: ignore[method-assign,assignment]
    write_events(engine, events[~early])
    at = events["occurred_at"].max()
    updated = live.open_rows(at)
    rebuilt = Backlog(engine, desk).open_rows(at)

    assert len(live.states()) == len(Backlog(engine, desk).states())
    columns = [c for c in rebuilt.columns if c != "sla_clocks"]
    pd.testing.assert_frame_equal(
        updated.sort_values("ticket_id").reset_index(drop=True)[columns],
        rebuilt.sort_values("ticket_id").reset_index(drop=True)[columns],
    )
