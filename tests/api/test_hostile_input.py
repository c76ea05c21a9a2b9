"""Hostile and malformed requests: size limits, timestamps, ids, event order, /docs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.events.schemas import MAX_EVENTS_PER_REQUEST
from api.risk.schemas import MAX_EVENTS_PER_TICKET, MAX_TICKETS_PER_REQUEST
from features.store import events_table, make_engine, rejected_table
from stallwatch.settings import Settings
from tests.api.admin_key import admin_headers

STORES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgresql", marks=pytest.mark.postgres),
]
ClientMaker = Callable[..., TestClient]


@pytest.fixture
def client_for(tmp_path: Path) -> Iterator[ClientMaker]:
    """Start the service (no model, no alerts) on a store, with an admin's key."""
    from api.app import create_app

    started: list[TestClient] = []

    def make(url: str, **overrides: Any) -> TestClient:
        settings = Settings(
            database_url=url,
            model_dir=tmp_path / "no-model",
            alert_rules=None,
            **overrides,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        client.headers.update(admin_headers(settings))
        started.append(client)
        return client

    yield make
    for client in started:
        client.__exit__(None, None, None)


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(events_table))
        rejects = conn.execute(sa.select(sa.func.count()).select_from(rejected_table))
        counts = (int(events.scalar_one()), int(rejects.scalar_one()))
    engine.dispose()
    return counts


def _event(n: int, at: str, kind: str = "internal_note", **fields: Any) -> dict:
    return {
        "event_id": f"e-{n}",
        "ticket_id": "T1",
        "occurred_at": at,
        "kind": kind,
        **fields,
    }


# ------------------------------------------------------------- body size


def test_body_over_the_limit_by_content_length_answers_413_and_writes_nothing(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url, max_body_bytes=2_048)
    events = [_event(n, "2016-03-01T09:00:00+00:00") for n in range(40)]
    body = json.dumps({"events": events}).encode()
    assert len(body) > 2_048  # 40 events of about 100 bytes each

    response = client.post(
        "/v1/events", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    error = response.json()
    assert error["code"] == "payload_too_large"
    assert "2048 bytes" in error["message"]
    assert "STALLWATCH_MAX_BODY_BYTES" in error["message"]
    assert error["details"] == [
        {"loc": ["body"], "message": "expected at most 2048 bytes", "type": "too_large"}
    ]
    assert _counts(sqlite_url) == (0, 0)


def test_chunked_body_over_the_limit_answers_413_and_under_it_is_read(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url, max_body_bytes=2_048)
    big = json.dumps(
        {"events": [_event(n, "2016-03-01T09:00:00+00:00") for n in range(40)]}
    ).encode()
    small = json.dumps(
        {"events": [_event(n, "2016-03-01T09:00:00+00:00") for n in range(3)]}
    ).encode()

    def chunks(data: bytes) -> Iterator[bytes]:
        # A generator makes httpx send the body chunked, without Content-Length.
        for start in range(0, len(data), 512):
            yield data[start : start + 512]

    refused = client.post(
        "/v1/events",
        content=chunks(big),
        headers={"content-type": "application/json"},
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "payload_too_large"
    assert _counts(sqlite_url) == (0, 0)

    read = client.post(
        "/v1/events",
        content=chunks(small),
        headers={"content-type": "application/json"},
    )
    assert read.status_code == 200, read.text
    assert read.json()["stored"] == 3
    assert _counts(sqlite_url) == (3, 0)


# ----------------------------------------------------------- batch limits


def test_batch_limits_name_the_field_and_the_limit(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url)
    at = "2016-03-01T09:00:00+00:00"

    tickets = [{"ticket_id": f"T{n}"} for n in range(MAX_TICKETS_PER_REQUEST + 1)]
    too_many_tickets = client.post("/v1/risk-scores", json={"tickets": tickets})
    events = [_event(n, at) for n in range(MAX_EVENTS_PER_REQUEST + 1)]
    too_many_events = client.post("/v1/events", json={"events": events})
    inline = [
        {"occurred_at": at, "kind": "internal_note"}
        for _ in range(MAX_EVENTS_PER_TICKET + 1)
    ]
    too_many_inline = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "T1", "events": inline}]}
    )

    for response, loc, limit in [
        (too_many_tickets, ["body", "tickets"], 500),
        (too_many_events, ["body", "events"], 1000),
        (too_many_inline, ["body", "tickets", 0, "events"], 5000),
    ]:
        assert response.status_code == 422, response.text
        detail = response.json()["details"]
        assert [d["loc"] for d in detail] == [loc]
        assert detail[0]["type"] == "too_long"
        assert f"at most {limit} items" in detail[0]["message"]
    assert _counts(sqlite_url) == (0, 0)


# -------------------------------------------------------------- instants


@pytest.mark.parametrize(
    "sent",
    [1456822800, 1456822800.5, "1456822800", "2016-03-01T09:00:00", "2016-03-01"],
    ids=["epoch", "epoch-float", "epoch-text", "no-offset", "date-only"],
)
def test_event_instant_must_be_iso_8601_with_an_offset(
    client_for: ClientMaker, sqlite_url: str, sent: object
) -> None:
    client = client_for(sqlite_url)
    good = _event(1, "2016-03-01T09:00:00Z", kind="created")
    bad = _event(2, "2016-03-01T10:00:00+01:00") | {"occurred_at": sent}

    body = client.post("/v1/events", json={"events": [good, bad]}).json()

    assert (body["stored"], body["rejected"]) == (1, 1)
    result = body["results"][1]
    assert result["status"] == "rejected"
    problems = [p for p in result["problems"] if p["loc"][-1] == "occurred_at"]
    assert problems and problems[0]["loc"] == ["body", "events", 1, "occurred_at"]
    assert "ISO 8601 instant with an offset" in problems[0]["message"]


def test_score_moment_as_epoch_is_refused_naming_the_field(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url)
    response = client.post(
        "/v1/risk-scores", json={"at": 1456822800, "tickets": [{"ticket_id": "T1"}]}
    )
    assert response.status_code == 422
    detail = response.json()["details"]
    assert [d["loc"] for d in detail] == [["body", "at"]]
    assert "got 1456822800" in detail[0]["message"]


# ------------------------------------------------------ inline event ids


def test_duplicate_event_ids_in_one_inline_ticket_are_refused_naming_them(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url)
    at = "2016-03-01T09:00:00+00:00"
    events = [
        {"event_id": "a", "occurred_at": at, "kind": "created"},
        {"event_id": "b", "occurred_at": at, "kind": "agent_reply"},
        {"event_id": "a", "occurred_at": at, "kind": "internal_note"},
        {"event_id": "c", "occurred_at": at, "kind": "internal_note"},
        {"event_id": "c", "occurred_at": at, "kind": "resolved"},
        {"occurred_at": at, "kind": "internal_note"},
        {"occurred_at": at, "kind": "internal_note"},
    ]
    response = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "T1", "events": events}]}
    )
    assert response.status_code == 422
    detail = response.json()["details"]
    assert [d["loc"] for d in detail] == [["body", "tickets", 0, "events"]]
    # Events without an id are not duplicates of one another.
    assert "given more than once in this ticket: 'a', 'c'" in detail[0]["message"]


# ------------------------------------------------- events before created


@pytest.mark.parametrize("store", STORES)
def test_events_before_the_created_event_are_rejected(
    client_for: ClientMaker, store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    client = client_for(url)
    created = _event(1, "2016-03-01T09:00:00+00:00", kind="created")
    first = client.post("/v1/events", json={"events": [created]}).json()
    assert first["stored"] == 1

    # Against the stored created event, and against one in the same batch.
    late = _event(2, "2016-03-01T10:00:00+01:00")  # 09:00 UTC: at it, fine
    early = _event(3, "2016-03-01T08:59:00+00:00")
    other_created = _event(4, "2016-03-02T09:00:00Z", kind="created", ticket_id="T2")
    other_early = _event(5, "2016-03-02T08:00:00Z", ticket_id="T2")
    body = client.post(
        "/v1/events", json={"events": [late, early, other_created, other_early]}
    ).json()

    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["stored", "rejected", "stored", "rejected"]
    assert body["results"][1]["problems"] == [
        {
            "loc": ["body", "events", 1, "occurred_at"],
            "message": "before the created event of ticket 'T1' at "
            "2016-03-01T09:00:00+00:00; expected an instant at or after it",
        }
    ]
    assert "2016-03-02T09:00:00+00:00" in body["results"][3]["problems"][0]["message"]
    assert _counts(url) == (3, 2)


@pytest.mark.parametrize("store", STORES)
def test_created_event_after_a_stored_event_of_its_ticket_is_rejected(
    client_for: ClientMaker, store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    client = client_for(url)
    note = _event(1, "2016-03-01T09:00:00+00:00")
    assert client.post("/v1/events", json={"events": [note]}).json()["stored"] == 1

    created = _event(2, "2016-03-01T12:00:00+00:00", kind="created")
    body = client.post("/v1/events", json={"events": [created]}).json()

    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["problems"][0]["message"] == (
        "ticket 'T1' already has an event at 2016-03-01T09:00:00+00:00; "
        "expected 'created' to be its first event"
    )
    # A resend of the stored event is still a harmless duplicate.
    again = client.post("/v1/events", json={"events": [note]}).json()
    assert again["results"][0]["status"] == "duplicate"
    assert _counts(url) == (1, 1)


# ------------------------------------------------------------- merged first


def test_merged_first_event_ends_the_ticket_through_the_api(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url)
    events = [
        _event(1, "2016-03-01T09:00:00Z", kind="merged", priority="high"),
        _event(2, "2016-03-01T10:00:00Z", kind="customer_message"),
    ]
    assert client.post("/v1/events", json={"events": events}).json()["stored"] == 2

    sla = client.get("/v1/tickets/T1/sla", params={"at": "2016-03-20T09:00:00Z"})

    assert sla.status_code == 200, sla.text
    body = sla.json()
    assert body["merged"] is True
    # Nine days later no clock runs or breaches: the merge stopped them all.
    assert {c["state"] for c in body["clocks"]} == {"none"}


# ------------------------------------------------------------------- /docs


def test_docs_page_loads_swagger_ui_from_the_service_itself(
    client_for: ClientMaker, sqlite_url: str
) -> None:
    client = client_for(sqlite_url)
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.text

    references = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert references, html
    external = [r for r in references if re.match(r"(?i)^(?:[a-z]+:)?//", r)]
    assert external == []
    assert not re.search(r"(?i)https?://", html)

    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert asset in references
        loaded = client.get(asset)
        assert loaded.status_code == 200
        assert len(loaded.content) > 10_000
    assert client.get("/openapi.json").json()["info"]["title"] == "stallwatch"


# ------------------------------------------------------------- busy store


def test_busy_store_answers_503_with_retry_after_and_a_resend_is_stored(
    client_for: ClientMaker, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "busy.db"
    # Wait only 0.3 s for the write lock instead of the service's 30 s.
    client = client_for(f"sqlite:///{path}?timeout=0.3")
    first = client.post(
        "/v1/events",
        json={"events": [_event(1, "2016-03-01T10:00:00+00:00", "created")]},
    )
    assert first.status_code == 200, first.text

    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the store
    sent = {"events": [_event(2, "2016-03-01T11:00:00+00:00")]}
    try:
        busy = client.post("/v1/events", json=sent)
    finally:
        blocker.rollback()
        blocker.close()
    again = client.post("/v1/events", json=sent)

    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "2"
    assert busy.json()["code"] == "store_unavailable"
    assert "nothing of this request was written" in busy.json()["message"]
    assert again.status_code == 200 and again.json()["stored"] == 1
    assert _counts(f"sqlite:///{path}") == (2, 0)
