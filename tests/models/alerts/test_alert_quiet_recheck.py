"""A message held for quiet hours is checked again when the hours open.

The UCI desk is 24/7 in UTC: a critical ticket created Mon 10:00 UTC warns at
75 % of its 24-hour resolution target, Tue 04:00 UTC, at night in Berlin, so
the team's e-mail waits until Berlin opens at 09:00 CET (08:00 UTC). If the
ticket is resolved before then, the warning is withdrawn, not sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from features.alerts.tables import audit_table
from tests.conftest import EventMaker
from tests.models.alerts.conftest import DEFAULT_RULES, Mailbox, make_stack, replay

FIELDS = {"priority": "critical", "group": "G1", "requester": "alice"}
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


def _stack(url: str, port: int, tmp_path: Path) -> Any:
    text = DEFAULT_RULES.read_text().replace(
        "\n  support-team:\n    email: support-team@example.invalid\n", QUIET
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    return make_stack(url, smtp_port=port, rules=rules)


def _ticket(event: EventMaker, last: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        event("Q1", "2016-03-07T10:00Z", "created", status="new", **FIELDS),
        event("Q1", "2016-03-07T10:30Z", "assigned", status="open"),
        event("Q1", "2016-03-07T17:00Z", "internal_note"),
        last,
    ]


def _outbox(engine: Any) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT state, last_error FROM outbox WHERE ticket_id = 'Q1'")
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_held_warning_is_withdrawn_when_the_ticket_is_resolved_before_hours_open(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker, tmp_path: Path
) -> None:
    mailbox, port = smtp
    stack = _stack(sqlite_url, port, tmp_path)
    resolved = event("Q1", "2016-03-08T07:30Z", "status_changed", status="resolved")
    pending = _ticket(event, resolved)

    # Tue 04:00 UTC: the warning is decided and held until 08:00 UTC.
    replay(stack, pending, "2016-03-08T04:00Z", "2016-03-08T07:00Z")
    assert [s for s, _ in _outbox(stack.engine)] == ["pending"]
    assert mailbox.messages == []

    # Resolved at 07:30; the hours open at 08:00: nothing is sent.
    replay(stack, pending, "2016-03-08T07:30Z", "2016-03-08T09:30Z", step_minutes=30)
    assert mailbox.messages == []
    [(state, why)] = _outbox(stack.engine)
    assert state == "cancelled"
    assert why is not None and "ticket Q1 is 'resolved'" in why
    with stack.engine.connect() as conn:
        audit = conn.execute(
            sa.select(audit_table.c.kind, audit_table.c.detail).where(
                audit_table.c.kind == "delivery_cancelled"
            )
        ).all()
    assert [(k, json.loads(d)["recipient"]) for k, d in audit] == [
        ("delivery_cancelled", "support-team")
    ]


def test_held_warning_goes_when_the_ticket_is_still_open_when_hours_open(
    sqlite_url: str, smtp: tuple[Mailbox, int], event: EventMaker, tmp_path: Path
) -> None:
    mailbox, port = smtp
    stack = _stack(sqlite_url, port, tmp_path)
    # An internal note at 07:30 touches the ticket but stops no clock.
    note = event("Q1", "2016-03-08T07:30Z", "internal_note")
    pending = _ticket(event, note)

    replay(stack, pending, "2016-03-08T04:00Z", "2016-03-08T09:30Z", step_minutes=30)
    assert [str(m["To"]) for m in mailbox.messages] == ["support-team@example.invalid"]
    assert "Q1|sla_warning" in str(mailbox.messages[0]["X-Stallwatch-Key"])
    assert _outbox(stack.engine) == [("sent", None)]
