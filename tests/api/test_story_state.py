"""The story page's header: the ticket's folded state, not its last event's fields.

A CRM sends only the fields that changed, so the last event of a ticket often
carries one field; the header must show each field's last known value as of
the page's moment, the same values /v1/escalations gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from features.store import create_schema, make_engine, write_events
from stallwatch.settings import Settings
from tests.conftest import EventMaker, frame
from tests.credentials import admin_headers

NOW = datetime(2016, 3, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def served(tmp_path: Path, event: EventMaker) -> Iterator[TestClient]:
    """The service on a store with ticket T-7 created, then handed to a group."""
    from api.app import create_app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    history = [
        event(
            "T-7",
            "2016-03-14T09:00:00+00:00",
            "created",
            actor_role="customer",
            requester="r-1",
            status="new",
            priority="high",
            group="Service Desk",
            channel="email",
            category="Network",
            topic="VPN drops",
        ),
        event(
            "T-7",
            "2016-03-14T10:00:00+00:00",
            "assigned",
            group="Network Team",
            assignee="ana",
        ),
        # after the page's moment: the header must not know it yet
        event("T-7", "2016-03-17T10:00:00+00:00", "assigned", group="Later Team"),
    ]
    write_events(engine, frame(history))
    engine.dispose()
    settings = Settings(
        database_url=url,
        model_dir=tmp_path / "no-model",
        alert_rules=None,
        session_secret_file=tmp_path / "session-secret",
        now=NOW,
    )
    with TestClient(create_app(settings), headers=admin_headers(settings)) as client:
        yield client


def _header(html: str) -> dict[str, str]:
    found = dict(re.findall(r'id="current-(\w+)">([^<]*)<', html))
    assert found, "the story page has no header facts"
    return found


def _send_and_open(served: TestClient, events: list[dict[str, str]]) -> httpx.Response:
    """Send the CRM's events, check all were stored, and open T-7's page."""
    sent = served.post("/v1/events", json={"events": events})
    assert sent.status_code == 200, sent.text
    assert sent.json()["stored"] == len(events)
    page = served.get("/tickets/T-7")
    assert page.status_code == 200, page.text
    return page


def test_story_header_folds_a_last_event_that_carries_one_field(
    served: TestClient,
) -> None:
    # The CRM's last event before the moment says only what changed: the status.
    page = _send_and_open(
        served,
        [
            {
                "event_id": "crm-7-3",
                "ticket_id": "T-7",
                "occurred_at": "2016-03-15T11:00:00+00:00",
                "kind": "status_changed",
                "status": "waiting_customer",
            }
        ],
    )
    # status from the last event, priority from the creation, group and owner
    # from the hand-off; the group change after the moment is not shown
    assert _header(page.text) == {
        "status": "waiting_customer",
        "priority": "high",
        "group": "Network Team",
        "owner": "ana",
    }
    assert "not set" not in page.text and "no group" not in page.text
    assert "email" in page.text and "VPN drops" in page.text

    listed = served.get("/v1/escalations")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["ticket_id"] == "T-7"
    assert (item["status"], item["priority"], item["group"]) == (
        "waiting_customer",
        "high",
        "Network Team",
    )


def test_story_header_as_of_an_earlier_moment_shows_the_state_then(
    served: TestClient,
) -> None:
    page = served.get("/tickets/T-7", params={"at": "2016-03-14T09:30:00Z"})
    assert page.status_code == 200, page.text
    assert _header(page.text) == {
        "status": "new",
        "priority": "high",
        "group": "Service Desk",
        "owner": "–",
    }

    # after the group change the CRM sent later, the header follows it
    page = served.get("/tickets/T-7", params={"at": "2016-03-17T12:00:00Z"})
    assert page.status_code == 200, page.text
    assert _header(page.text)["group"] == "Later Team"
    assert _header(page.text)["owner"] == "ana"


def test_a_merged_ticket_stays_closed_on_its_page_and_its_clocks(
    served: TestClient,
) -> None:
    # Merged, then an event that would reopen it: a merge is final.
    page = _send_and_open(
        served,
        [
            {
                "event_id": "crm-7-m",
                "ticket_id": "T-7",
                "occurred_at": "2016-03-15T11:00:00+00:00",
                "kind": "merged",
            },
            {
                "event_id": "crm-7-r",
                "ticket_id": "T-7",
                "occurred_at": "2016-03-15T12:00:00+00:00",
                "kind": "reopened",
                "status": "open",
            },
        ],
    )
    assert _header(page.text)["status"] == "closed"

    sla = served.get("/v1/tickets/T-7/sla")
    assert sla.status_code == 200, sla.text
    assert (sla.json()["status"], sla.json()["merged"]) == ("closed", True)
    # and it is off the list of open tickets
    listed = served.get("/v1/escalations")
    assert listed.json()["items"] == []
