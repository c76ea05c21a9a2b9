"""Time to breach runs until breach or resolution: null once either happened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT as MOMENT
from tests.credentials import admin_headers

FIELDS = {"median_business_hours", "p90_business_hours"}


@pytest.fixture(scope="module")
def client(trained: Settings) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(trained), headers=admin_headers(trained)) as test_client:
        yield test_client


def _sent(ticket: str, *, closed: bool) -> dict[str, Any]:
    """A ticket created an hour before MOMENT, answered, and maybe closed."""
    start = pd.Timestamp(MOMENT) - pd.Timedelta(hours=1)
    events = [
        {"occurred_at": start.isoformat(), "kind": "created", "priority": "low"},
        {
            "occurred_at": (start + pd.Timedelta(minutes=10)).isoformat(),
            "kind": "agent_reply",
            "actor_role": "agent",
        },
    ]
    if closed:
        events.append(
            {
                "occurred_at": (start + pd.Timedelta(minutes=30)).isoformat(),
                "kind": "closed",
                "actor_role": "agent",
            }
        )
    return {"ticket_id": ticket, "events": events}


@pytest.mark.parametrize(
    "tickets",
    [
        pytest.param([["NEW-closed", True]], id="one-sent-ticket"),
        pytest.param([["NEW-closed", True], ["NEW-open", False]], id="batch"),
    ],
)
def test_risk_scores_closed_ticket_has_no_time_to_breach(
    client: TestClient, tickets: list[tuple[str, bool]]
) -> None:
    body = client.post(
        "/v1/risk-scores",
        json={"at": MOMENT, "tickets": [_sent(t, closed=c) for t, c in tickets]},
    ).json()

    served = {s["ticket_id"]: s for s in body["scores"]}
    assert served["NEW-closed"]["is_open"] is False
    assert served["NEW-closed"]["time_to_breach"] is None
    if "NEW-open" in served:
        # Answered ten minutes in, an hour old: open and within its SLA.
        assert served["NEW-open"]["is_open"] is True
        assert set(served["NEW-open"]["time_to_breach"]) == FIELDS


def test_one_sent_open_ticket_keeps_its_time_to_breach(client: TestClient) -> None:
    body = client.post(
        "/v1/risk-scores",
        json={"at": MOMENT, "tickets": [_sent("NEW-open", closed=False)]},
    ).json()

    assert body["scores"][0]["is_open"] is True
    assert set(body["scores"][0]["time_to_breach"]) == FIELDS


def test_escalations_breached_rows_have_no_time_to_breach(
    client: TestClient,
) -> None:
    total = client.get("/v1/escalations", params={"at": MOMENT}).json()["total"]
    # Breached tickets rank first; the last page holds tickets still running.
    items = [
        item
        for offset in (0, max(total - 20, 0))
        for item in client.get(
            "/v1/escalations", params={"at": MOMENT, "limit": 20, "offset": offset}
        ).json()["items"]
    ]

    breached = [i for i in items if i["sla_breached_since"] is not None]
    running = [i for i in items if i["sla_breached_since"] is None]
    assert breached and running
    assert all(i["time_to_breach"] is None for i in breached)
    assert all(set(i["time_to_breach"]) == FIELDS for i in running)
