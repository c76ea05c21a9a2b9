"""Alerts, feedback and the audit trail through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine, write_events
from models.alerts.delivery import Deliverer, DeliveryConfig
from stallwatch.settings import Settings
from tests.conftest import EventMaker, frame
from tests.credentials import admin_headers

NOW = pd.Timestamp("2016-03-09T12:00Z")


@pytest.fixture
def client(tmp_path: Path, event: EventMaker) -> Iterator[TestClient]:
    """A service without a model, replaying NOW, with two open tickets."""
    from api.app import create_app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    write_events(
        engine,
        frame(
            [
                event("A-1", "2016-03-09T08:00Z", "created", priority="low", group="G"),
                event("team/B-2", "2016-03-09T09:00Z", "created", priority="high"),
            ]
        ),
    )
    settings = Settings(
        database_url=url, model_dir=tmp_path / "models", now=NOW.to_pydatetime()
    )
    with TestClient(
        create_app(settings), headers=admin_headers(settings)
    ) as test_client:
        yield test_client


def _live(ticket: str, at: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{ticket}-{kind}-{at}",
        "ticket_id": ticket,
        "occurred_at": at,
        "kind": kind,
        **fields,
    }


def test_post_events_decides_alerts_for_the_tickets_they_touch(
    client: TestClient,
) -> None:
    # Created 50 h before NOW with no agent action: first response breached.
    sent = client.post(
        "/v1/events",
        json={"events": [_live("C-3", "2016-03-07T10:00Z", "created", priority="low")]},
    )
    assert sent.status_code == 200 and sent.json()["stored"] == 1

    body = client.get("/v1/alerts", params={"ticket_id": "C-3"}).json()
    rules = sorted((a["rule"], a["clock"]) for a in body["items"])
    assert rules == [
        ("sla_breach", "first_response"),
        ("unanswered_24h", "first_response"),
    ]
    assert {a["state"] for a in body["items"]} == {"pending"}
    breach = next(a for a in body["items"] if a["rule"] == "sla_breach")
    assert breach["cycle"] == "first_response@2016-03-07T10:00:00Z"
    assert sorted(d["recipient"] for d in breach["deliveries"]) == [
        "shift-manager",
        "support-team",
    ]
    # The other stored tickets got no event, so they were not evaluated.
    assert client.get("/v1/alerts").json()["total"] == 2


def test_get_alerts_state_dead_lists_dead_letters(client: TestClient) -> None:
    client.post(
        "/v1/events",
        json={"events": [_live("C-3", "2016-03-07T10:00Z", "created")]},
    )
    service = client.app.state.service  # type: ignore[attr-defined]
    # Nothing listens on port 9 of loopback; one attempt allowed.
    config = DeliveryConfig(smtp_port=9, max_attempts=1, timeout_seconds=2)
    Deliverer(service.backlog.engine, config).deliver_due(now=NOW.to_pydatetime())

    dead = client.get("/v1/alerts", params={"state": "dead"}).json()
    assert dead["total"] == 2
    assert {a["state"] for a in dead["items"]} == {"dead"}
    error = dead["items"][0]["deliveries"][0]["last_error"]
    assert error.startswith("SMTP: ")
    assert client.get("/v1/alerts", params={"state": "pending"}).json()["total"] == 0
    bad = client.get("/v1/alerts", params={"state": "lost"})
    assert bad.status_code == 422
    assert bad.json()["details"][0]["loc"] == ["query", "state"]


def test_post_feedback_stores_the_record_and_answers_201(client: TestClient) -> None:
    until = (NOW + timedelta(hours=3)).isoformat()
    got = client.post(
        "/v1/tickets/team/B-2/feedback",
        json={"action": "snooze", "until": until, "by": "maria", "note": "vendor"},
    )

    assert got.status_code == 201
    body = got.json()
    assert {k: body[k] for k in ("ticket_id", "action", "by", "note")} == {
        "ticket_id": "team/B-2",
        "action": "snooze",
        # the key that sent it is the author; the sender's name stays a note
        "by": "key:test-admin",
        "note": "vendor (sent as by 'maria')",
    }
    assert pd.Timestamp(body["until"]) == NOW + timedelta(hours=3)
    assert pd.Timestamp(body["recorded_at"]) == NOW
    assert isinstance(body["id"], int)
    assert (body["probability"], body["reasons"]) == (None, None)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"action": "snooze", "by": "maria"}, "expected an aware instant"),
        (
            {"action": "acknowledge", "by": "m", "until": "2016-03-10T00:00Z"},
            "expected no value for acknowledge",
        ),
        (
            {"action": "snooze", "by": "m", "until": "2016-03-10T00:00"},
            "with an offset",
        ),
        ({"action": "ignore", "by": "m"}, "acknowledge"),
        ({"action": "acknowledge", "by": ""}, "at least 1 character"),
        ({"action": "acknowledge", "by": "m", "extra": 1}, "Extra inputs"),
    ],
)
def test_post_feedback_bad_body_is_422_naming_the_field(
    client: TestClient, payload: dict[str, Any], message: str
) -> None:
    got = client.post("/v1/tickets/A-1/feedback", json=payload)

    assert got.status_code == 422
    assert got.json()["code"] == "validation_error"
    assert message in got.json()["message"]


def test_post_feedback_unknown_ticket_is_404(client: TestClient) -> None:
    got = client.post(
        "/v1/tickets/NOPE/feedback", json={"action": "acknowledge", "by": "m"}
    )

    assert got.status_code == 404
    assert got.json()["message"] == "ticket 'NOPE' is not in the store"


def test_escalations_leave_out_snoozed_and_mark_acknowledged(
    client: TestClient,
) -> None:
    until = (NOW + timedelta(hours=2)).isoformat()
    client.post(
        "/v1/tickets/team/B-2/feedback",
        json={"action": "snooze", "until": until, "by": "maria"},
    )
    client.post("/v1/tickets/A-1/feedback", json={"action": "acknowledge", "by": "li"})

    now = client.get("/v1/escalations").json()
    assert [i["ticket_id"] for i in now["items"]] == ["A-1"]
    assert now["total"] == 1
    assert now["items"][0]["feedback"]["action"] == "acknowledge"
    assert now["items"][0]["feedback"]["by"] == "key:test-admin"

    later = (NOW + timedelta(hours=3)).isoformat()
    after = client.get("/v1/escalations", params={"at": later}).json()
    feedback = {i["ticket_id"]: i["feedback"]["action"] for i in after["items"]}
    assert feedback == {"A-1": "acknowledge", "team/B-2": "snooze"}


def test_get_audit_lists_alerts_escalations_and_feedback_with_who_and_why(
    client: TestClient,
) -> None:
    client.post(
        "/v1/events",
        json={"events": [_live("C-3", "2016-03-07T10:00Z", "created")]},
    )
    client.post(
        "/v1/tickets/C-3/feedback",
        json={"action": "not_a_stall", "by": "maria", "note": "planned outage"},
    )

    body = client.get("/v1/tickets/C-3/audit").json()
    kinds = [(e["kind"], e["who"]) for e in body["entries"]]
    assert kinds == [
        ("alert", "stallwatch"),
        ("escalation", "stallwatch"),
        ("alert", "stallwatch"),
        ("escalation", "stallwatch"),
        ("feedback", "key:test-admin"),
    ]
    assert body["entries"][-1]["why"] == (
        "not_a_stall: planned outage (sent as by 'maria')"
    )
    assert body["entries"][1]["detail"] == {
        "role": "shift_manager",
        "recipient": "shift-manager",
    }
    assert client.get("/v1/tickets/NOPE/audit").status_code == 404


def test_post_feedback_not_a_stall_keeps_the_prediction_of_the_moment(
    trained: Settings,
) -> None:
    from api.app import create_app

    with TestClient(create_app(trained), headers=admin_headers(trained)) as client:
        ticket = client.get("/v1/escalations", params={"limit": 1}).json()["items"][0]
        tid = ticket["ticket_id"]
        risk = client.post("/v1/risk-scores", json={"tickets": [{"ticket_id": tid}]})
        got = client.post(
            f"/v1/tickets/{tid}/feedback",
            json={"action": "not_a_stall", "by": "maria", "note": None},
        )

    assert got.status_code == 201
    body = got.json()
    scored = risk.json()["scores"][0]
    assert body["probability"] == pytest.approx(scored["probability"])
    assert body["reasons"] == scored["reasons"]
    assert body["model_version"] == risk.json()["model_version"]
