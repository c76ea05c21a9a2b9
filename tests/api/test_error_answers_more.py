"""More answers to odd requests: the headers an error carries, HEAD on the
health routes, and a batch of events holding something other than objects.

Every test runs the real app on its own SQLite store, without a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.store import events_table, make_engine, rejected_table
from stallwatch.settings import Settings

#: Headers that differ from one answer to the next by design.
PER_ANSWER = {"x-request-id", "date"}


def _event(n: int, at: str, kind: str = "internal_note") -> dict[str, Any]:
    return {"event_id": f"e-{n}", "ticket_id": "T1", "occurred_at": at, "kind": kind}


def _stored(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The stored event ids, and the kept (payload, problems) of the rejects."""
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(events_table.c.event_id)).scalars())
        kept = [
            (row.payload, row.problems)
            for row in conn.execute(
                sa.select(rejected_table.c.payload, rejected_table.c.problems)
            )
        ]
    engine.dispose()
    return sorted(ids), kept


def _same_headers(answer: Any) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in PER_ANSWER}


# ------------------------------------------------- headers of an error (1)


def test_a_405_names_the_allowed_methods_in_the_one_error_shape(
    client: TestClient,
) -> None:
    answer = client.delete("/v1/events")

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json() == {
        "code": "http_error",
        "message": "Method Not Allowed",
        "details": [],
    }


def test_a_405_on_a_health_route_names_get_and_head(client: TestClient) -> None:
    answer = client.post("/healthz")

    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed == {"GET", "HEAD"}
    assert answer.json()["code"] == "http_error"


def test_a_405_names_every_route_at_the_path_not_only_the_first(
    client: TestClient,
) -> None:
    # GET /login and POST /login are two routes; the router named only one.
    answer = client.delete("/login")

    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_on_a_health_route_answers_like_get_without_a_body(
    settings: Settings, path: str
) -> None:
    from api.app import create_app

    # No credentials: health checkers call these routes bare.
    with TestClient(create_app(settings)) as bare:
        got = bare.get(path)
        head = bare.head(path)

    assert got.status_code == 200, got.text
    assert head.status_code == got.status_code
    assert head.content == b""
    assert _same_headers(head) == _same_headers(got)
    assert head.headers["content-type"] == "application/json"
    assert int(head.headers["content-length"]) == len(got.content)


def test_head_on_readyz_answers_503_when_the_store_does_not(
    settings: Settings, tmp_path: Path
) -> None:
    from api.app import create_app

    with TestClient(create_app(settings)) as bare:
        # The store goes away under the running service.
        bare.app.state.service.backlog.engine = sa.create_engine(  # type: ignore[attr-defined]
            f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"
        )
        got = bare.get("/readyz")
        head = bare.head("/readyz")

    assert got.status_code == 503, got.text
    assert got.json()["reason"] == "store_unreachable"
    assert head.status_code == 503
    assert head.content == b""
    assert _same_headers(head) == _same_headers(got)


def test_the_schema_keeps_one_operation_id_per_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    ids = [
        op["operationId"]
        for item in schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))
    assert set(schema["paths"]["/healthz"]) >= {"get", "head"}
    assert set(schema["paths"]["/readyz"]) >= {"get", "head"}


# ------------------------------------------- non-object events (finding 2)


@pytest.mark.parametrize(
    ("odd", "kind"),
    [
        (5, "number"),
        (1.5, "number"),
        ("e-2", "string"),
        ([1, 2], "array"),
        ([{"event_id": "e-3"}], "array"),
        (None, "null"),
        (True, "boolean"),
    ],
    ids=["int", "float", "string", "list", "list-of-object", "null", "bool"],
)
def test_an_event_that_is_not_an_object_is_rejected_alone_and_kept(
    client: TestClient, settings: Settings, odd: object, kind: str
) -> None:
    events = [_event(1, "2016-03-01T09:00:00Z", kind="created"), odd]

    answer = client.post("/v1/events", json={"events": events})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["stored"], body["rejected"]) == (1, 1)
    assert body["results"][0]["status"] == "stored"
    assert body["results"][1] == {
        "index": 1,
        "event_id": None,
        "status": "rejected",
        "problems": [
            {
                "loc": ["body", "events", 1],
                "message": f"expected an object; got {kind}",
            }
        ],
    }
    ids, kept = _stored(settings.database_url)
    assert ids == ["api:e-1"]
    assert len(kept) == 1
    payload, problems = kept[0]
    assert json.loads(payload) == odd
    assert json.loads(problems) == body["results"][1]["problems"]


def test_a_batch_of_only_odd_elements_stores_nothing_and_keeps_each(
    client: TestClient, settings: Settings
) -> None:
    answer = client.post("/v1/events", json={"events": [7, "x", None]})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["stored"], body["rejected"]) == (0, 3)
    assert [r["problems"][0]["loc"] for r in body["results"]] == [
        ["body", "events", i] for i in range(3)
    ]
    ids, kept = _stored(settings.database_url)
    assert ids == []
    assert [json.loads(p) for p, _ in kept] == [7, "x", None]


@pytest.mark.parametrize(
    "body",
    [[{"events": []}], 5, "events", None, {"events": 5}, {"events": {"a": 1}}],
    ids=["list", "number", "string", "null", "events-number", "events-object"],
)
def test_a_body_that_is_not_an_object_with_a_list_stays_a_422(
    client: TestClient, settings: Settings, body: object
) -> None:
    answer = client.post("/v1/events", json=body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"
    assert _stored(settings.database_url) == ([], [])
