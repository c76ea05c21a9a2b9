"""A day of the real UCI log replayed through the service and the worker.

Events arrive hour by hour through the service's live-event path (which
evaluates the tickets they touch); the worker ticks every hour. The e-mails a
real SMTP server on loopback receives must be exactly the expected ones, each
once. The expected set is worked out independently: the SLA engine's clocks
of every ticket at every tick (``features.sla.compute_clocks``), read against
the default rules restated here by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from features.sla.desk import load_desk_file
from features.sla.model import ClockResult
from features.store import write_events
from models.alerts.engine import AlertEngine
from models.service import StallService
from tests.models.alerts.conftest import UCI_DESK, Mailbox, make_stack

DAY = pd.Timestamp("2016-03-01T00:00Z")
TICKS = [DAY + pd.Timedelta(hours=h) for h in range(1, 25)]
TEAM, MANAGER, ON_CALL = (
    "support-team@example.invalid",
    "shift-manager@example.invalid",
    "on-call@example.invalid",
)


def _counting(clock: ClockResult) -> bool:
    return (
        clock.state in ("running", "breached")
        and clock.stopped_at is None
        and clock.snapshot is not None
        and not clock.snapshot.paused
    )


def _expected(events: pd.DataFrame) -> Counter[tuple[str, str, str]]:
    """(ticket|rule|cycle, recipient) of every e-mail the default rules send."""
    desk = load_desk_file(UCI_DESK)
    fired: dict[str, set[str]] = {}
    plain = events.astype(object).where(events.notna(), None)
    by_ticket: dict[str, list[dict[str, Any]]] = {}
    for record in plain.to_dict("records"):
        by_ticket.setdefault(record["ticket_id"], []).append(record)
    for ticket, records in by_ticket.items():
        calendar = desk.calendar_at(pd.Timestamp(records[0]["occurred_at"]))
        for tick in TICKS:
            known = [r for r in records if r["occurred_at"] <= tick]
            if not known or known[-1]["status"] in ("resolved", "closed"):
                continue
            if any(r["kind"] == "merged" for r in known):
                continue
            policy, sla = desk.sla_events(known)
            clocks = desk_clocks(calendar, policy, sla, tick)
            priority = next(
                (r["priority"] for r in reversed(known) if r["priority"]),
                None,
            )
            for target, clock in clocks.items():
                if not _counting(clock):
                    continue
                start = clock.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                key = f"{ticket}|{{}}|{target}@{start}"
                share = clock.elapsed_minutes / clock.target_minutes
                if target != "resolution" and clock.elapsed_minutes >= 24 * 60:
                    fired[key.format("unanswered_24h")] = {TEAM, MANAGER}
                if share >= 0.75 and not clock.breached:
                    fired[key.format("sla_warning")] = {TEAM}
                if clock.breached:
                    fired[key.format("sla_breach")] = {TEAM, MANAGER}
                if clock.breached and target == "resolution" and priority == "critical":
                    fired[key.format("critical_breach_on_call")] = {ON_CALL}
    return Counter((key, to) for key, recipients in fired.items() for to in recipients)


def desk_clocks(calendar: Any, policy: Any, sla: Any, tick: Any) -> dict[str, Any]:
    from features.sla.clocks import compute_clocks

    result = compute_clocks(
        calendar=calendar, policy=policy, events=sla, at=tick.to_pydatetime()
    )
    return dict(result.clocks)


def test_replayed_day_sends_each_expected_email_once(
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    uci_events: pd.DataFrame,
    tmp_path: Path,
) -> None:
    mailbox, port = smtp
    stack = make_stack(sqlite_url, smtp_port=port, wal=True)
    events = uci_events[uci_events["occurred_at"] <= TICKS[-1]]
    write_events(stack.engine, events[events["occurred_at"] <= DAY])

    # The service's live-event path evaluates what it stores, at "now".
    now: list[datetime] = [DAY.to_pydatetime()]
    service = StallService(stack.alerts.backlog, tmp_path / "no-model")
    service.alerts = AlertEngine(
        backlog=stack.alerts.backlog, rules=stack.alerts.rules, clock=lambda: now[0]
    )
    stack.scheduler.tick(DAY.to_pydatetime())
    for tick in TICKS:
        now[0] = tick.to_pydatetime()
        batch = events[
            (events["occurred_at"] > tick - timedelta(hours=1))
            & (events["occurred_at"] <= tick)
        ]
        records = batch.astype(object).where(batch.notna(), None)
        written, _ = service.ingest_events(records.to_dict("records"), [])
        assert len(written) == len(batch)
        stack.scheduler.tick(now[0])

    received = Counter(
        (str(m["X-Stallwatch-Key"]).strip().rsplit("|", 2)[0], str(m["To"]))
        for m in mailbox.messages
    )
    expected = _expected(events)
    assert len(expected) > 100
    assert received == expected
    assert max(received.values()) == 1
