"""Customer updates: a hand-off, a pause and silence each tell the customer once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from features.alerts.tables import alerts_table
from tests.conftest import EventMaker
from tests.models.alerts.conftest import Mailbox, make_stack, replay

RULES = """
version: 1
recipients:
  team: {email: team@example.invalid}
routing:
  teams: {"*": team}
rules:
  - name: sla_breach
    when: {clock: resolution, breached: true}
    then: {notify_team: true}
customer_updates:
  enabled: true
  channel: email
  address: "$requester@customers.example.invalid"
  silence_hours: 4
  templates:
    handoff:
      subject: "Your ticket $ticket_id is with $group"
      body: "The $group team has your ticket. Next update by $next_update_due."
    paused:
      subject: "We are waiting for you on $ticket_id"
      body: "Your ticket waits for your answer. Next update by $next_update_due."
    silence:
      subject: "Still working on $ticket_id"
      body: "The $group team is on it. Next update by $next_update_due."
"""


def test_customer_updates_handoff_pause_and_silence_each_once(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker, tmp_path: Path
) -> None:
    mailbox, port = smtp
    (tmp_path / "rules.yaml").write_text(RULES)
    stack = make_stack(sqlite_url, smtp_port=port, rules=tmp_path / "rules.yaml")
    who = {"requester": "alice", "priority": "low"}
    pending = [
        event("C1", "2016-03-07T09:00Z", "created", group="Desk", **who),
        event("C1", "2016-03-07T09:30Z", "assigned", group="Desk", status="open"),
        event("C1", "2016-03-07T11:00Z", "assigned", group="Network"),
        event("C1", "2016-03-07T12:00Z", "status_changed", status="waiting_customer"),
        event(
            "C1",
            "2016-03-07T14:00Z",
            "customer_message",
            actor_role="customer",
            status="open",
        ),
    ]

    replay(stack, pending, "2016-03-07T09:00Z", "2016-03-07T20:00Z")

    # Silence counts from the last visible update: the 12:00 status change
    # and pause update, then the 16:00 silence update itself.
    with stack.engine.connect() as conn:
        rows = conn.execute(
            sa.select(alerts_table.c.rule, alerts_table.c.cycle).order_by(
                alerts_table.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("customer_handoff", "handoff@2016-03-07T11:00:00Z"),
        ("customer_paused", "paused@2016-03-07T12:00:00Z"),
        ("customer_silence", "silence@2016-03-07T12:00:00Z"),
        ("customer_silence", "silence@2016-03-07T16:00:00Z"),
    ]
    assert {str(m["To"]) for m in mailbox.messages} == {
        "alice@customers.example.invalid"
    }
    first = mailbox.messages[0]
    assert str(first["Subject"]) == "Your ticket C1 is with Network"
    assert first.get_content().strip() == (
        "The Network team has your ticket. Next update by 2016-03-07T15:00:00Z."
    )
