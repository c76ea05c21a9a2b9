"""One tick of the alert worker: evaluate what changed, then deliver what is due.

A tick at ``at`` evaluates only:

- the tickets that received events since the previous tick (the store says
  which, by ingestion time);
- the tickets whose clocks cross a rule's mark by ``at`` (each evaluation
  says when the ticket should be looked at next);
- every open ticket on the first tick, and then every ``full_sweep`` when a
  rule reads the stall model (stall risk drifts with time alone).

Then it claims and delivers the outbox messages due at ``at``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from features.store import tickets_ingested_since
from models.alerts.delivery import Deliverer
from models.alerts.engine import AlertEngine

log = logging.getLogger("stallwatch.alerts")

#: Events stored a little before the previous scan may have been in flight.
_SCAN_SLACK = timedelta(seconds=5)


@dataclass
class TickReport:
    """What one tick did."""

    at: datetime
    evaluated: int = 0
    decided: int = 0
    swept: bool = False
    #: Messages handled, by the state each attempt left them in: ``sent``,
    #: ``pending`` (to retry later), ``dead``, ``cancelled``, ``lost_claim``.
    delivered: Counter[str] = field(default_factory=Counter)

    def describe_delivery(self) -> str:
        """Say how the tick's delivery attempts ended, e.g. ``sent 2, to retry 1``."""
        done = self.delivered
        parts = [
            f"sent {done['sent']}",
            f"to retry {done['pending']}",
            f"dead-lettered {done['dead']}",
        ]
        if done["cancelled"]:
            parts.append(f"cancelled {done['cancelled']}")
        if done["lost_claim"]:
            parts.append(f"taken by another worker {done['lost_claim']}")
        return ", ".join(parts)


class AlertScheduler:
    """Keeps the wake-up times between ticks; a restart begins with a sweep."""

    def __init__(
        self,
        *,
        alerts: AlertEngine,
        deliverer: Deliverer,
        full_sweep: timedelta = timedelta(hours=1),
        batch: int = 20,
    ) -> None:
        self.alerts = alerts
        self.deliverer = deliverer
        if deliverer.recheck is None:
            # Held messages are checked against the rules before they go.
            deliverer.recheck = alerts.recheck_held
        self.full_sweep = full_sweep
        self.batch = batch
        self.wake_ups: dict[str, datetime] = {}
        self._scanned_at: datetime | None = None
        self._swept_at: datetime | None = None

    def evaluate(self, at: datetime) -> TickReport:
        """Evaluate changed and woken tickets (all open ones when a sweep is due)."""
        report = TickReport(at=at)
        scan_started = datetime.now(UTC)
        wanted: set[str] = set()
        if self._scanned_at is not None:
            since = self._scanned_at - _SCAN_SLACK
            wanted |= set(tickets_ingested_since(self.alerts.backlog.engine, since))
        wanted |= {t for t, due in self.wake_ups.items() if due <= at}
        sweep = self._swept_at is None or (
            at - self._swept_at >= self.full_sweep and self.alerts.drifts()
        )
        if sweep:
            wanted |= set(self.alerts.open_tickets(at))
            self._swept_at = at
        self._scanned_at = scan_started
        if wanted:
            done = self.alerts.evaluate(wanted, at=at)
            report.evaluated, report.decided = done.evaluated, done.decided
            for ticket, due in done.wake_ups.items():
                if due is None:
                    self.wake_ups.pop(ticket, None)
                else:
                    self.wake_ups[ticket] = due
        report.swept = sweep
        return report

    def deliver(self, at: datetime, *, max_batches: int = 50) -> Counter[str]:
        """Deliver due messages in small claimed batches until none is left."""
        total: Counter[str] = Counter()
        for _ in range(max_batches):
            done = self.deliverer.deliver_due(now=at, limit=self.batch)
            total.update(done)
            if sum(done.values()) < self.batch:
                break
        return total

    def tick(self, at: datetime) -> TickReport:
        """Evaluate, then deliver, at ``at``."""
        report = self.evaluate(at)
        report.delivered = self.deliver(at)
        log.info(
            "alert_tick",
            extra={
                "at": at.isoformat(),
                "evaluated": report.evaluated,
                "decided": report.decided,
                "swept": report.swept,
                "outcomes": dict(report.delivered),
            },
        )
        return report
