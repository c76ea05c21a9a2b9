"""The manager's pages on a real slice: the list's data, the story, the report pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.pages.format import business_minutes, countdown
from features.store import make_engine
from tests.api.reference import AS_OF, DONE, Ticket

AT = {"at": AS_OF.isoformat()}


def _open_now(reference: dict[str, Ticket]) -> dict[str, Ticket]:
    return {
        tid: t
        for tid, t in reference.items()
        if t.states[-1].status not in DONE and not t.states[-1].merged
    }


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0.4, "0 m"), (59.6, "1 h 0 m"), (200, "3 h 20 m"), (3125, "2 d 4 h")],
)
def test_business_minutes_reads_as_days_hours_minutes(
    minutes: float, text: str
) -> None:
    assert business_minutes(minutes) == text


def test_countdown_says_due_or_breached_in_words() -> None:
    at = datetime(2016, 5, 23, 9, tzinfo=UTC)

    due = countdown(at=at, minutes_to_due=200, paused=False, breached_since=None)
    late = countdown(
        at=at, minutes_to_due=None, paused=False, breached_since=at - timedelta(days=1)
    )
    paused = countdown(at=at, minutes_to_due=None, paused=True, breached_since=None)

    assert due == ("due in 3 h 20 m of business time", 200)
    assert late == ("breached 1 day ago", -1440.0)
    assert (
        countdown(
            at=at,
            minutes_to_due=None,
            paused=False,
            breached_since=at - timedelta(hours=5),
        )[0]
        == "breached 5 h ago"
    )
    assert paused[0] == "SLA clock paused"
    held = countdown(
        at=at,
        minutes_to_due=None,
        paused=True,
        breached_since=None,
        paused_minutes_left=310,
    )
    assert held[0] == "paused, 5 h 10 m of business time left"
    assert due[1] < held[1] < paused[1]
    assert late[1] < due[1] < paused[1]


def test_stall_list_holds_every_open_ticket_with_its_countdown(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/stall-list", params={**AT, "limit": 500}).json()

    open_now = _open_now(report_reference)
    assert body["total"] == len(open_now)
    assert {r["ticket_id"] for r in body["rows"]} <= set(open_now)
    assert [r["rank"] for r in body["rows"]] == list(range(1, body["shown"] + 1))

    # The countdown agrees with the ticket's own clocks (the scalar engine).
    green = report_client.get(
        "/v1/stall-list", params={**AT, "flag": "green", "limit": 50}
    ).json()
    due = next(r for r in green["rows"] if r["countdown"].startswith("due in"))
    clocks = report_client.get(f"/v1/tickets/{due['ticket_id']}/sla", params=AT)
    running = [
        c["remaining_minutes"]
        for c in clocks.json()["clocks"]
        if c["state"] == "running" and c["remaining_minutes"] > 0
    ]
    left = round(min(running))
    hours, minutes = divmod(left % 1440, 60)
    days = left // 1440
    words = f"{days} d {hours} h" if days else f"{hours} h {minutes} m"
    assert due["countdown"] == f"due in {words} of business time"


def test_stall_list_filters_by_flag_and_channel(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    def ask(**params: str) -> dict[str, Any]:
        query = {**AT, "limit": "500", **params}
        body: dict[str, Any] = report_client.get("/v1/stall-list", params=query).json()
        return body

    everything = ask()
    by_flag = {flag: ask(flag=flag) for flag in ("red", "amber", "green")}
    phone = ask(channel="phone")

    assert sum(b["total"] for b in by_flag.values()) == everything["total"]
    for flag, body in by_flag.items():
        assert {r["flag"] for r in body["rows"]} <= {flag}
    assert by_flag["red"]["total"] > 0 and by_flag["green"]["total"] > 0
    phones = [
        t
        for t in _open_now(report_reference).values()
        if t.states[-1].channel == "phone"
    ]
    assert phone["total"] == len(phones) > 0
    assert {r["channel"] for r in phone["rows"]} == {"phone"}


def test_stall_list_sorts_by_countdown(report_client: TestClient) -> None:
    body = report_client.get(
        "/v1/stall-list", params={**AT, "sort": "due", "limit": 500}
    ).json()

    urgency = [r["urgency"] for r in body["rows"]]
    assert urgency == sorted(urgency)
    assert body["rows"][0]["countdown"].startswith("breached")


def test_list_page_shows_the_ranked_rows(report_client: TestClient) -> None:
    page = report_client.get("/", params={**AT, "limit": 7})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    tickets = re.findall(r'<tr class="flag-\w+" data-ticket="([^"]+)"', page.text)
    data = report_client.get("/v1/stall-list", params={**AT, "limit": 7}).json()
    assert tickets == [r["ticket_id"] for r in data["rows"]]


def test_story_page_splits_the_events_at_the_replay_moment(
    report_client: TestClient, report_store: str
) -> None:
    at = datetime(2016, 3, 10, 16, tzinfo=UTC)
    engine = make_engine(report_store)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT occurred_at FROM events WHERE ticket_id = 'INC0005408' "
                "ORDER BY occurred_at"
            )
        ).all()
    engine.dispose()
    stamps = [datetime.fromisoformat(str(r[0])).replace(tzinfo=UTC) for r in rows]
    before = sum(s <= at for s in stamps)

    page = report_client.get("/tickets/INC0005408", params={"at": at.isoformat()})

    assert page.status_code == 200
    known, later = page.text.split("What happened afterwards")
    events_table = known.split('id="events"')[1]
    assert events_table.count("<tr class=") == before
    assert later.count("<tr class=") == len(stamps) - before > 0


@pytest.mark.parametrize(
    "slug",
    [
        "backlog",
        "open-age",
        "first-contact-resolution",
        "sla-compliance",
        "weekly-categories",
        "handoffs",
        "model-record",
    ],
)
def test_report_page_draws_the_json_figures(
    report_client: TestClient, slug: str
) -> None:
    page = report_client.get(f"/reports/{slug}", params=AT)

    assert page.status_code == 200
    assert "<svg" in page.text
    assert f'href="/v1/reports/{slug}?format=csv' in page.text


def test_backlog_page_chart_holds_the_backlog_numbers(
    report_client: TestClient,
) -> None:
    page = report_client.get("/reports/backlog", params=AT).text
    data = report_client.get("/v1/reports/backlog", params=AT).json()

    drawn = re.findall(r'data-label="([0-9-]+)" data-value="(\d+)"', page)
    assert [(d, int(v)) for d, v in drawn] == [
        (d["day"], d["open_tickets"]) for d in data["days"]
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "loc"),
    [
        ("/", {"flag": "blue"}, 422, ["query", "flag"]),
        ("/", {"limit": 0}, 422, ["query", "limit"]),
        ("/", {"at": "tomorrow"}, 422, ["query", "at"]),
        ("/v1/stall-list", {"sort": "size"}, 422, ["query", "sort"]),
        ("/tickets/NOPE", {}, 404, None),
        ("/tickets/INC0005408", {"at": "2016-01-01T00:00:00Z"}, 422, ["query", "at"]),
        ("/reports/nope", {}, 404, ["path", "slug"]),
        ("/reports/backlog", {"from": "2016-04-01T00:00:00Z"}, 422, ["query", "from"]),
    ],
)
def test_page_bad_input_gives_the_one_error_shape(
    report_client: TestClient,
    path: str,
    params: dict[str, str],
    status: int,
    loc: list[str] | None,
) -> None:
    answer = report_client.get(path, params=params)

    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    if loc is not None:
        assert body["details"][0]["loc"][:2] == loc
