"""The first tick on an existing backlog: old breaches can be left out by a rule.

The UCI desk runs 24/7 in UTC and gives a critical ticket 24 hours to resolve.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from features.alerts.tables import alerts_table
from tests.conftest import EventMaker
from tests.models.alerts.conftest import Mailbox, make_stack, replay, write_rules

FIELDS = {"priority": "critical", "group": "G1", "requester": "alice"}

RULES = """\
version: 1
recipients:
  team: {email: team@example.invalid}
routing:
  teams: {"*": team}
rules:
  - name: fresh_breach
    when:
      clock: resolution
      breached: true
      remaining_hours: {at_least: -24}
    then: {mark: red, notify_team: true}
"""


def test_worker_first_tick_skips_breaches_older_than_the_rule_allows(
    tmp_path: Path,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    event: EventMaker,
) -> None:
    mailbox, port = smtp
    rules = write_rules(tmp_path / "rules.yaml", RULES)
    stack = make_stack(sqlite_url, smtp_port=port, rules=rules)
    # OLD breached at 03-02 00:00 (72 h before the tick); NEW at 03-04 22:00 (2 h).
    pending = [
        event("OLD", "2016-03-01T00:00Z", "created", status="new", **FIELDS),
        event("NEW", "2016-03-03T22:00Z", "created", status="new", **FIELDS),
    ]

    replay(stack, pending, "2016-03-05T00:00Z", "2016-03-05T00:00Z")

    with stack.engine.connect() as conn:
        decided = conn.execute(sa.select(alerts_table.c.ticket_id)).scalars().all()
    assert decided == ["NEW"]
    assert [m["To"] for m in mailbox.messages] == ["team@example.invalid"]
