"""Train on a slice of the real log, then use the service as a CRM would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT as MOMENT
from tests.credentials import admin_headers


@pytest.fixture(scope="module")
def client(trained: Settings) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(trained), headers=admin_headers(trained)) as test_client:
        yield test_client


def _open_at(uci_head: Path, at: str) -> set[str]:
    """Open incidents at ``at``, straight from the raw rows (independent)."""
    rows = pd.read_csv(uci_head, dtype=str, keep_default_na=False)
    rows["updated"] = pd.to_datetime(rows["sys_updated_at"], format="%d/%m/%Y %H:%M")
    rows["opened"] = pd.to_datetime(rows["opened_at"], format="%d/%m/%Y %H:%M")
    moment = pd.Timestamp(at).tz_localize(None)
    seen = rows[(rows["updated"] <= moment) | (rows["opened"] <= moment)]
    seen = seen[seen["updated"] <= moment]
    last = seen.sort_values(["number", "updated"]).groupby("number").tail(1)
    state = last["incident_state"]
    return set(last.loc[~state.isin(["Resolved", "Closed"]), "number"])


def test_healthz_names_the_trained_model(client: TestClient, trained: Settings) -> None:
    body = client.get("/healthz").json()

    current = (trained.model_dir / "CURRENT").read_text().strip()
    assert body == {"status": "ok", "model_version": current}


STAKE = {"critical": 4.0, "high": 3.0, "moderate": 2.0, "low": 1.0}
TIER = {"sla_breached": 0, "sla_nearly_due": 1, None: 2}


def test_escalations_follow_the_documented_order(
    client: TestClient, uci_head: Path
) -> None:
    items = _all_items(client)

    assert len(items) == len(_open_at(uci_head, MOMENT))
    assert {i["ticket_id"] for i in items} == _open_at(uci_head, MOMENT)
    tiers = [TIER[i["rule"]] for i in items]
    assert tiers == sorted(tiers)
    breached = [i["sla_breached_since"] for i in items if i["rule"] == "sla_breached"]
    assert breached == sorted(breached)
    nearly = [i["sla_next_due"] for i in items if i["rule"] == "sla_nearly_due"]
    assert nearly == sorted(nearly)
    harm = [i["probability"] * STAKE[i["priority"]] for i in items if i["rule"] is None]
    assert harm == sorted(harm, reverse=True)
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    assert all(i["reasons"] for i in items[:50])


def test_escalations_24_hour_rule_is_a_breach(client: TestClient) -> None:
    # The UCI desk's policy: an agent acts within 24 h of creation and of the
    # last agent action; paused time does not count. A ticket that never
    # waited and has been silent for 24 h or more has therefore breached.
    items = _all_items(client)
    silent = [
        i
        for i in items
        if i["hours_since_agent_action"] >= 24.0
        and i["status"] not in ("waiting_customer", "waiting_third_party")
        and i["sla_clocks"]["next_response"] != "paused"
    ]

    assert len(silent) > 20
    for item in silent:
        assert item["flag"] == "red", item
        assert item["rule"] == "sla_breached"
        assert "SLA breached" in item["why"]


def _all_items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(
            "/v1/escalations", params={**params, "limit": 500, "offset": len(items)}
        ).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


def test_escalations_filter_and_page(client: TestClient) -> None:
    everything = _all_items(client)
    group = everything[0]["group"]

    in_group = _all_items(client, group=group)
    page = client.get(
        "/v1/escalations", params={"group": group, "limit": 2, "offset": 1}
    ).json()

    expected = [i["ticket_id"] for i in everything if i["group"] == group]
    assert [i["ticket_id"] for i in in_group] == expected
    assert page["total"] == len(expected)
    assert [i["ticket_id"] for i in page["items"]] == expected[1:3]


def _stored_events(settings: Settings, ticket: str) -> list[dict[str, Any]]:
    from features.store import make_engine, read_events

    events = read_events(make_engine(settings.database_url), ticket_ids=[ticket])
    keep = ["occurred_at", "kind", "actor", "actor_role", "requester", "group",
            "assignee", "status", "priority", "channel", "category", "subcategory",
            "topic"]  # fmt: skip
    rows = events[events["occurred_at"] <= pd.Timestamp(MOMENT)][keep]
    rows["occurred_at"] = rows["occurred_at"].map(lambda t: t.isoformat())
    return [
        {k: v for k, v in r.items() if not pd.isna(v)} for r in rows.to_dict("records")
    ]


def test_risk_scores_by_id_equal_scores_by_events(
    client: TestClient, trained: Settings
) -> None:
    top = client.get("/v1/escalations", params={"limit": 1}).json()["items"][0]
    assert top["probability"] is not None
    ticket = top["ticket_id"]

    by_id = client.post("/v1/risk-scores", json={"tickets": [{"ticket_id": ticket}]})
    by_events = client.post(
        "/v1/risk-scores",
        json={
            "tickets": [
                {"ticket_id": ticket, "events": _stored_events(trained, ticket)}
            ]
        },
    )

    assert by_id.status_code == by_events.status_code == 200
    a, b = by_id.json()["scores"][0], by_events.json()["scores"][0]
    assert a["probability"] == pytest.approx(b["probability"])
    assert a["probability"] == pytest.approx(top["probability"])
    assert a["risk_band"] in ("low", "medium", "high") and a["reasons"]


def test_risk_scores_reject_missing_kind_naming_the_field(client: TestClient) -> None:
    body = {
        "tickets": [
            {"ticket_id": "X1", "events": [{"occurred_at": "2016-03-01T10:00:00Z"}]}
        ]
    }

    response = client.post("/v1/risk-scores", json=body)

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "validation_error"
    assert ["body", "tickets", 0, "events", 0, "kind"] in [
        d["loc"] for d in error["details"]
    ]


def test_risk_scores_reject_naive_time_and_empty_batch(client: TestClient) -> None:
    naive = client.post(
        "/v1/risk-scores",
        json={
            "tickets": [
                {
                    "ticket_id": "X1",
                    "events": [{"occurred_at": "2016-03-01T10:00", "kind": "created"}],
                }
            ]
        },
    )
    empty = client.post("/v1/risk-scores", json={"tickets": []})

    assert naive.status_code == 422
    assert "with an offset" in naive.json()["message"]
    assert empty.status_code == 422
    assert empty.json()["details"][0]["loc"] == ["body", "tickets"]


def test_risk_scores_unknown_ticket_is_named(client: TestClient) -> None:
    response = client.post(
        "/v1/risk-scores",
        json={"tickets": [{"ticket_id": "INC0000045"}, {"ticket_id": "NOPE"}]},
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["loc"] == ["body", "tickets", 1, "ticket_id"]
    assert "NOPE" in response.json()["message"]


def test_escalations_reject_bad_query(client: TestClient) -> None:
    response = client.get("/v1/escalations", params={"limit": 0, "at": "yesterday"})

    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["details"]]
    assert ["query", "limit"] in locs and ["query", "at"] in locs


def test_risk_scores_reject_duplicate_ticket_in_batch(client: TestClient) -> None:
    ticket = {"ticket_id": "INC0000045"}

    response = client.post("/v1/risk-scores", json={"tickets": [ticket, ticket]})

    assert response.status_code == 422
    detail = response.json()["details"][0]
    assert detail["loc"] == ["body", "tickets", 1, "ticket_id"]
    assert "tickets[0]" in detail["message"]


@pytest.mark.parametrize("moment", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_extreme_instants_are_refused_not_crashed(
    client: TestClient, moment: str
) -> None:
    listing = client.get("/v1/escalations", params={"at": moment})
    scoring = client.post(
        "/v1/risk-scores",
        json={
            "tickets": [
                {
                    "ticket_id": "X9",
                    "events": [{"occurred_at": moment, "kind": "created"}],
                }
            ]
        },
    )

    assert listing.status_code == scoring.status_code == 422
    assert "1970-01-01 and 2200-01-01" in listing.json()["message"]
    loc = scoring.json()["details"][0]["loc"]
    assert loc == ["body", "tickets", 0, "events", 0, "occurred_at"]


def test_risk_scores_reject_misspelled_field(client: TestClient) -> None:
    event = {"occurred_at": "2016-03-01T10:00:00Z", "kind": "created", "priorty": "x"}

    response = client.post(
        "/v1/risk-scores", json={"tickets": [{"ticket_id": "X2", "events": [event]}]}
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["loc"][-1] == "priorty"


def test_ticket_sla_ledger_by_hand(client: TestClient) -> None:
    # INC0000045: first saved 29/2 01:23, resolved 08:53 by an agent; the
    # standard policy gives 1,440 minutes for a first response and 7,200 for
    # resolution on a 24/7 calendar: both met after 450 minutes.
    body = client.get(
        "/v1/tickets/INC0000045/sla", params={"at": "2016-03-01T00:00:00Z"}
    ).json()
    clocks = {c["target"]: c for c in body["clocks"]}

    assert body["policy"] == "standard"
    assert body["calendar_version"] == "uci-24x7-1"
    assert clocks["first_response"]["state"] == "met"
    assert clocks["first_response"]["elapsed_minutes"] == 450
    assert clocks["first_response"]["due"] == "2016-03-01T01:23:00Z"
    assert clocks["resolution"]["state"] == "met"
    assert clocks["resolution"]["remaining_minutes"] == 7200 - 450
    assert clocks["next_response"]["state"] == "none"
    segments = clocks["resolution"]["segments"]
    assert sum(s["business_minutes"] for s in segments) == 450


def test_ticket_sla_unknown_ticket_is_404(client: TestClient) -> None:
    response = client.get("/v1/tickets/NOPE/sla")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
