"""Pauses, reopens and quiet hours: what fires when, worked out by hand.

The UCI desk runs 24/7 in UTC; a critical ticket has a 24-hour resolution
target, warned at 75 % (18 hours), and a 24-hour next-response target
restarted by each agent action.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from features.alerts.tables import alerts_table
from tests.conftest import EventMaker
from tests.models.alerts.conftest import DEFAULT_RULES, Mailbox, make_stack, replay

FIELDS = {"priority": "critical", "group": "G1", "requester": "alice"}


def _utc(text: str) -> datetime:
    return pd.Timestamp(text).to_pydatetime()


def _alerts(engine: Any) -> list[tuple[str, str | None, str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                alerts_table.c.rule,
                alerts_table.c.clock,
                alerts_table.c.cycle,
                alerts_table.c.decided_at,
            ).order_by(alerts_table.c.id)
        ).all()
    return [tuple(r) for r in rows]


def _paused_ticket(event: EventMaker, *, pause: bool) -> list[dict[str, Any]]:
    evening = (
        event("P1", "2016-03-07T17:00Z", "status_changed", status="waiting_customer")
        if pause
        else event("P1", "2016-03-07T17:00Z", "internal_note")
    )
    return [
        event("P1", "2016-03-07T10:00Z", "created", status="new", **FIELDS),
        event("P1", "2016-03-07T10:30Z", "assigned", status="open"),
        evening,
        event(
            "P1",
            "2016-03-08T08:00Z",
            "customer_message",
            actor_role="customer",
            **({"status": "open"} if pause else {}),
        ),
    ]


def test_worker_paused_overnight_fires_nothing_at_night(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker
) -> None:
    mailbox, port = smtp
    stack = make_stack(sqlite_url, smtp_port=port)
    pending = _paused_ticket(event, pause=True)

    # Paused 17:00 to 08:00 with 7 h used: 18 h are reached at 08:00 + 11 h.
    replay(stack, pending, "2016-03-07T10:00Z", "2016-03-08T18:00Z")
    assert _alerts(stack.engine) == []
    assert mailbox.messages == []

    replay(stack, pending, "2016-03-08T19:00Z", "2016-03-08T19:00Z")
    assert _alerts(stack.engine) == [
        (
            "sla_warning",
            "resolution",
            "resolution@2016-03-07T10:00:00Z",
            _utc("2016-03-08T19:00Z"),
        )
    ]
    assert [m["To"] for m in mailbox.messages] == ["support-team@example.invalid"]


def test_worker_unpaused_night_fires_at_the_warning_mark(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker
) -> None:
    # The same ticket without the pause warns at 10:00 + 18 h = 04:00.
    mailbox, port = smtp
    stack = make_stack(sqlite_url, smtp_port=port)
    pending = _paused_ticket(event, pause=False)

    replay(stack, pending, "2016-03-07T10:00Z", "2016-03-08T04:00Z")
    assert _alerts(stack.engine) == [
        (
            "sla_warning",
            "resolution",
            "resolution@2016-03-07T10:00:00Z",
            _utc("2016-03-08T04:00Z"),
        )
    ]
    assert len(mailbox.messages) == 1


def test_worker_reopened_past_old_due_fires_no_stale_breach(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker
) -> None:
    mailbox, port = smtp
    stack = make_stack(sqlite_url, smtp_port=port)
    events = [
        event("R1", "2016-03-07T09:00Z", "created", status="new", **FIELDS),
        event("R1", "2016-03-07T09:30Z", "assigned", status="open"),
        event("R1", "2016-03-07T12:00Z", "resolved"),
        # The first resolution clock was due Tue 09:00; the reopen comes later.
        event("R1", "2016-03-09T10:00Z", "reopened"),
    ]
    replay(stack, events, "2016-03-07T10:00Z", "2016-03-10T02:00Z", step_minutes=120)
    assert _alerts(stack.engine) == []

    # The new cycle warns at Wed 10:00 + 18 h and breaches at + 24 h.
    replay(stack, events, "2016-03-10T04:00Z", "2016-03-10T10:00Z", step_minutes=120)
    cycle = "resolution@2016-03-09T10:00:00Z"
    assert _alerts(stack.engine) == [
        ("sla_warning", "resolution", cycle, _utc("2016-03-10T04:00Z")),
        ("sla_breach", "resolution", cycle, _utc("2016-03-10T10:00Z")),
        ("critical_breach_on_call", "resolution", cycle, _utc("2016-03-10T10:00Z")),
    ]
    recipients = sorted(str(m["To"]) for m in mailbox.messages)
    assert recipients == [
        "on-call@example.invalid",
        "shift-manager@example.invalid",
        "support-team@example.invalid",
        "support-team@example.invalid",
    ]


QUIET = """
  support-team:
    email: support-team@example.invalid
    business_hours:
      timezone: Europe/Berlin
      week:
        mon: [["09:00", "17:00"]]
        tue: [["09:00", "17:00"]]
        wed: [["09:00", "17:00"]]
        thu: [["09:00", "17:00"]]
        fri: [["09:00", "17:00"]]
"""


def test_worker_quiet_hours_hold_non_urgent_until_business_hours(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker, tmp_path: Path
) -> None:
    mailbox, port = smtp
    text = DEFAULT_RULES.read_text().replace(
        "\n  support-team:\n    email: support-team@example.invalid\n", QUIET
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    stack = make_stack(sqlite_url, smtp_port=port, rules=rules)
    # Warns Tue 04:00 UTC (non-urgent); Berlin opens at 09:00 CET = 08:00 UTC.
    pending = _paused_ticket(event, pause=False)
    # Breaches Mon 01:00 UTC, at night: urgent, so sent at once.
    pending.append(event("U1", "2016-03-06T01:00Z", "created", status="new", **FIELDS))

    replay(stack, pending, "2016-03-07T01:00Z", "2016-03-07T01:00Z")
    urgent = sorted(str(m["X-Stallwatch-Key"]).split("|")[1] for m in mailbox.messages)
    assert urgent == [
        "critical_breach_on_call",
        "sla_breach",  # first response
        "sla_breach",  # resolution
        "sla_breach",  # resolution, shift manager
        "sla_breach",  # first response, shift manager
        "unanswered_24h",
        "unanswered_24h",
    ]
    mailbox.messages.clear()

    replay(stack, pending, "2016-03-07T02:00Z", "2016-03-08T07:00Z")
    assert mailbox.messages == []
    with stack.engine.connect() as conn:
        held = conn.execute(
            sa.text("SELECT held_until, state FROM outbox WHERE ticket_id = 'P1'")
        ).all()
    assert [(pd.Timestamp(h).isoformat(), s) for h, s in held] == [
        ("2016-03-08T08:00:00", "pending")
    ]

    replay(stack, pending, "2016-03-08T08:00Z", "2016-03-08T08:00Z")
    assert [str(m["To"]) for m in mailbox.messages] == ["support-team@example.invalid"]
    assert "P1|sla_warning" in str(mailbox.messages[0]["X-Stallwatch-Key"])
