"""Report figures against an independent replay of the events table.

The reference (``tests/api/reference.py``) reads the stored events with plain
SQL and replays each ticket in a Python loop, written apart from
``models.reports`` (which works on vectorised as-of states). Both must agree
on a real slice of the UCI log.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from features.sla.clocks import compute_clocks
from features.sla.desk import load_desk_file
from features.store import make_engine, read_events
from stallwatch.settings import Settings
from tests.api.reference import (
    AS_OF,
    DONE,
    END,
    PERIOD,
    START,
    Ticket,
    open_before,
    state_before,
)

# ---------------------------------------------------------------- figures


def test_backlog_per_day_matches_a_replay_of_the_events(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/backlog", params=PERIOD).json()

    days = [START + timedelta(days=n) for n in range(15)]
    expected = [
        {
            "day": d.date().isoformat(),
            "open_tickets": len(open_before(report_reference, d + timedelta(days=1))),
        }
        for d in days
    ]
    assert body["days"] == expected
    assert body["period"]["zone"] == "UTC"
    assert max(d["open_tickets"] for d in expected) > 100


def test_backlog_per_day_of_one_group_counts_only_its_tickets(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get(
        "/v1/reports/backlog", params={**PERIOD, "group": "Group 70"}
    ).json()

    last_day = body["days"][-1]
    expected = [s for s in open_before(report_reference, END) if s.group == "Group 70"]
    assert last_day == {"day": "2016-03-15", "open_tickets": len(expected)}
    assert len(expected) > 5


def test_weekly_open_by_category_matches_a_replay_of_the_events(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/weekly-categories", params=PERIOD).json()

    # Weeks from Monday 29 February; each counted at the week's end or at END.
    week_starts = ["2016-02-29", "2016-03-07", "2016-03-14"]
    cuts = [
        datetime(2016, 3, 7, tzinfo=UTC),
        datetime(2016, 3, 14, tzinfo=UTC),
        END,
    ]
    assert body["weeks"] == week_starts
    shown = {c["category"]: c["counts"] for c in body["categories"]}
    named = [c for c in shown if c != "other categories"]
    for k, cut in enumerate(cuts):
        by_category = Counter(
            s.category or "(not set)" for s in open_before(report_reference, cut)
        )
        for category in named:
            assert shown[category][k] == by_category[category], (category, k)
        rest = sum(n for c, n in by_category.items() if c not in named)
        assert shown.get("other categories", [0, 0, 0])[k] == rest
    assert len(named) == 8


def test_open_age_is_business_hours_since_creation(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/open-age", params=PERIOD).json()

    # The UCI desk's calendar is 24/7 in UTC: business hours are wall hours.
    ages = [
        (END - t.states[0].t).total_seconds() / 3600
        for t in report_reference.values()
        if (s := state_before(t, END)) is not None
        and s.status not in DONE
        and not s.merged
    ]
    assert body["open_tickets"] == len(ages)
    assert body["mean_business_hours"] == pytest.approx(sum(ages) / len(ages), abs=0.01)
    assert sum(b["tickets"] for b in body["buckets"]) == len(ages)
    assert body["buckets"][0] == {
        "bucket": "under 8 h",
        "tickets": sum(a < 8 for a in ages),
    }


def test_first_contact_resolution_matches_a_replay_of_the_events(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get(
        "/v1/reports/first-contact-resolution", params=PERIOD
    ).json()

    resolved = first_contact = handed = reopened = 0
    for ticket in report_reference.values():
        first = next((s for s in ticket.states if s.status in DONE), None)
        if first is None or first.merged or not START <= first.t < END:
            continue
        resolved += 1
        groups = [g for t, g in ticket.groups if t <= first.t and g]
        moved = any(a != b for a, b in itertools.pairwise(groups))
        replies = sum(k == "agent_reply" for t, k in ticket.kinds if t <= first.t)
        again = any(k == "reopened" and t > first.t for t, k in ticket.kinds)
        handed += moved
        reopened += again
        first_contact += not (moved or again or replies > 1)
    assert body["resolved"] == resolved
    assert body["first_contact"] == first_contact
    assert body["with_handoff"] == handed
    assert body["reopened"] == reopened
    assert body["rate"] == pytest.approx(first_contact / resolved, abs=1e-4)
    assert 0 < first_contact < resolved


def test_sla_compliance_source_row_counts_breach_events(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/sla-compliance", params=PERIOD).json()

    met = breached = running = 0
    for ticket in report_reference.values():
        if not START <= ticket.states[0].t < END:
            continue
        last = ticket.states[-1]
        if any(k == "sla_breached" for _, k in ticket.kinds):
            breached += 1
        elif last.status in DONE or last.merged:
            met += 1
        else:
            running += 1
    source = next(t for t in body["targets"] if t["target"] == "source")
    assert source == {
        "target": "source",
        "met": met,
        "breached": breached,
        "running": running,
        "rate": round(met / (met + breached), 4),
    }


def test_sla_compliance_policy_targets_match_the_scalar_clock_engine(
    report_client: TestClient, report_store: str
) -> None:
    # One day, so that the one-ticket-at-a-time engine stays quick.
    start, end = datetime(2016, 3, 14, tzinfo=UTC), datetime(2016, 3, 15, tzinfo=UTC)
    params = {"from": start.isoformat(), "to": end.isoformat(), "at": AS_OF.isoformat()}
    body = report_client.get("/v1/reports/sla-compliance", params=params).json()

    desk = load_desk_file(Settings().sla_desk)
    events = read_events(make_engine(report_store), until=AS_OF)
    tally: Counter[tuple[str, str]] = Counter()
    for _, part in events.groupby("ticket_id"):
        created = part["occurred_at"].iloc[0].to_pydatetime()
        if not start <= created < end:
            continue
        policy, sla_events = desk.sla_events(part.astype(object).to_dict("records"))
        clocks = compute_clocks(
            calendar=desk.calendar_at(created),
            policy=policy,
            events=sla_events,
            at=AS_OF,
        )
        for target, clock in clocks.clocks.items():
            tally[(target, clock.state)] += 1
    for row in body["targets"][:3]:
        target = row["target"]
        assert row["met"] == tally[(target, "met")], target
        assert row["breached"] == tally[(target, "breached")], target
        running = tally[(target, "running")] + tally[(target, "paused")]
        assert row["running"] == running, target
    assert sum(r["met"] for r in body["targets"][:3]) > 50


def test_handoffs_total_matches_group_changes(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/handoffs", params=PERIOD).json()

    moves = returns = 0
    for ticket in report_reference.values():
        seen: set[str] = set()
        previous = None
        for t, group in ticket.groups:
            moved = group and previous and group != previous
            if moved and START <= t < END:
                moves += 1
                returns += group in seen
            if group:
                seen.add(group)
                previous = group
    assert body["total"] == moves
    assert body["returns"] == returns
    assert sum(map(sum, body["counts"])) == moves


def test_model_record_follows_every_ticket_open_at_a_review(
    report_client: TestClient, report_reference: dict[str, Ticket]
) -> None:
    body = report_client.get("/v1/reports/model-record", params=PERIOD).json()

    # Reviews at 09:00 UTC on the period's last 14 days; a ticket counts when it
    # was open at one (events up to 09:00 included) and not yet marked breached.
    reviews = [END.replace(hour=9) - timedelta(days=n) for n in range(14, 0, -1)]
    followed = set()
    for review in reviews:
        after = review + timedelta(microseconds=1)
        for tid, ticket in report_reference.items():
            state = state_before(ticket, after)
            if state is None or state.status in DONE or state.merged:
                continue
            if any(k == "sla_breached" and t <= review for t, k in ticket.kinds):
                continue
            followed.add(tid)
    assert body["reviews"][0] == "2016-03-02T09:00:00+00:00"
    assert len(body["reviews"]) == 14
    assert sum(f["tickets"] for f in body["flags"]) == len(followed)
    for flag in body["flags"]:
        parts = flag["stalled"] + flag["not_stalled"] + flag["still_open"]
        assert parts == flag["tickets"]


def test_report_csv_holds_the_json_figures(report_client: TestClient) -> None:
    body = report_client.get("/v1/reports/backlog", params=PERIOD).json()
    answer = report_client.get(
        "/v1/reports/backlog", params={**PERIOD, "format": "csv"}
    )

    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["day"], int(r["open_tickets"])) for r in rows] == [
        (d["day"], d["open_tickets"]) for d in body["days"]
    ]


def test_report_defaults_to_the_28_days_before_the_replay_moment(
    report_client: TestClient,
) -> None:
    period = report_client.get("/v1/reports/backlog").json()["period"]

    assert period["as_of"] == "2016-03-16T09:00:00Z"
    assert period["end"] == "2016-03-16T09:00:00Z"
    assert period["start"] == "2016-02-17T09:00:00Z"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("params", "loc", "status"),
    [
        ({"from": "2016-03-10T00:00:00Z", "to": "2016-03-01T00:00:00Z"}, "from", 422),
        ({"to": "2016-04-01T00:00:00Z", "at": AS_OF.isoformat()}, "to", 422),
        ({"from": "2014-01-01T00:00:00Z", "to": "2016-03-01T00:00:00Z"}, "from", 422),
        ({"from": "yesterday"}, "from", 422),
        ({"to": "2016-03-01T00:00:00"}, "to", 422),
        ({"format": "xml"}, "format", 422),
        ({"group": "g" * 201}, "group", 422),
    ],
)
@pytest.mark.parametrize("report", ["backlog", "first-contact-resolution", "handoffs"])
def test_report_bad_query_gives_the_one_error_shape(
    report_client: TestClient,
    report: str,
    params: dict[str, str],
    loc: str,
    status: int,
) -> None:
    answer = report_client.get(f"/v1/reports/{report}", params=params)

    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert any(d["loc"][:2] == ["query", loc] for d in body["details"]), body


@pytest.mark.parametrize(
    "report",
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
def test_report_before_the_first_event_counts_nothing(
    report_client: TestClient, report: str
) -> None:
    # The slice starts on 29 February 2016: a year earlier the desk was empty.
    answer = report_client.get(
        f"/v1/reports/{report}", params={"at": "2015-01-01T00:00:00Z"}
    )
    page = report_client.get(
        f"/reports/{report}", params={"at": "2015-01-01T00:00:00Z"}
    )

    assert answer.status_code == page.status_code == 200
    body = answer.json()
    numbers = [value for _, value in _leaves(body) if isinstance(value, int)]
    assert not any(numbers)


def _leaves(value: object, key: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [
            leaf for k, v in value.items() if k != "period" for leaf in _leaves(v, k)
        ]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]
