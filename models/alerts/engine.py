"""The alert evaluator: build each ticket's view, fire rules, store decisions.

Only the tickets it is given are evaluated: the service passes the tickets
that received events, the scheduler those plus the tickets whose clocks
crossed a mark (see :func:`models.alerts.evaluate.next_wake_up`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.alerts.outbox import ClaimedMessage, alert_of
from features.alerts.store import (
    AlertDecision,
    last_customer_updates,
    record_decisions,
)
from features.events import DONE_STATUSES
from features.sla.clocks import compute_clocks
from features.store import read_events
from models.alerts.customer import customer_triggers, silence_wake_up
from models.alerts.evaluate import (
    TICKET_FIELDS,
    TicketView,
    counting,
    cycle_of,
    firings,
    next_wake_up,
)
from models.alerts.messages import alert_decision, customer_decision
from models.alerts.rules import RuleFile, recipient_calendars
from models.backlog import Backlog

if TYPE_CHECKING:
    from models.scorer import StallScorer

log = logging.getLogger("stallwatch.alerts")

_CHUNK = 500


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did."""

    at: datetime
    evaluated: int
    decided: int
    wake_ups: dict[str, datetime | None]


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _time_to_breach(score: Any) -> tuple[float | None, float | None]:
    # Optional scorer output (models.scorer.TimeToBreach), in business hours.
    value = getattr(score, "time_to_breach", None)
    if value is None:
        return None, None
    median = getattr(value, "median_business_hours", None)
    p90 = getattr(value, "p90_business_hours", None)
    return (
        None if median is None else float(median),
        None if p90 is None else float(p90),
    )


class AlertEngine:
    """Evaluates alert rules for given tickets and records what fired."""

    def __init__(
        self,
        *,
        backlog: Backlog,
        rules: RuleFile,
        scorer: Callable[[], StallScorer | None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.backlog = backlog
        self.rules = rules
        self.scorer = scorer
        self.clock = clock or (lambda: datetime.now(UTC))
        self.calendars = recipient_calendars(rules)

    def open_tickets(self, at: datetime) -> list[str]:
        """Return every ticket open at ``at`` (neither done nor merged)."""
        states = self.backlog.states()
        at_ns = pd.Timestamp(at).value
        known = states[states["t_ns"] <= at_ns].sort_values(
            ["ticket_id", "t_ns"], kind="stable"
        )
        last = known.drop_duplicates("ticket_id", keep="last")
        done = last["status"].isin(list(DONE_STATUSES)).fillna(False)
        done |= last["merged"].astype(bool)
        return [str(t) for t in last.loc[~done.to_numpy(), "ticket_id"]]

    def drifts(self) -> bool:
        """Whether verdicts change with time alone beyond the clocks (stall risk)."""
        return (
            self.rules.uses_model()
            and self.scorer is not None
            and self.scorer() is not None
        )

    def views(self, ticket_ids: Iterable[str], at: datetime) -> list[TicketView]:
        """Build what the rules see of each ticket as of ``at``."""
        ids = sorted(set(ticket_ids))
        desk = self.backlog.desk
        frames = [
            read_events(self.backlog.engine, ticket_ids=ids[i : i + _CHUNK], until=at)
            for i in range(0, len(ids), _CHUNK)
        ]
        by_ticket: dict[str, list[dict[str, Any]]] = {}
        for frame in frames:
            # One conversion per frame: per-ticket conversions dominate otherwise.
            plain = frame.astype(object).where(frame.notna(), None)
            for record in plain.to_dict("records"):
                by_ticket.setdefault(str(record["ticket_id"]), []).append(record)
        views = []
        for ticket_id, records in by_ticket.items():
            calendar = desk.calendar_at(
                pd.Timestamp(records[0]["occurred_at"]).to_pydatetime()
            )
            try:
                policy, events = desk.sla_events(records)
                clocks = compute_clocks(
                    calendar=calendar, policy=policy, events=events, at=at
                )
            except ValueError as exc:  # one odd ticket must not stop the rest
                log.warning(
                    "alert_ticket_skipped",
                    extra={"ticket_id": ticket_id, "error": str(exc)},
                )
                continue
            fields: dict[str, str | None] = dict.fromkeys(TICKET_FIELDS)
            for record in records:
                for name in TICKET_FIELDS:
                    fields[name] = _text(record.get(name)) or fields[name]
            views.append(
                TicketView(
                    ticket_id=str(ticket_id),
                    at=at,
                    fields=fields,
                    clocks=clocks,
                    calendar=calendar,
                    is_open=not clocks.merged and clocks.status not in DONE_STATUSES,
                    events=records,
                )
            )
        return self._with_scores(views, at)

    def _with_scores(self, views: list[TicketView], at: datetime) -> list[TicketView]:
        scorer = self.scorer() if self.scorer is not None else None
        wanted = [v.ticket_id for v in views if v.is_open]
        if scorer is None or not wanted or not self.rules.uses_model():
            return views
        rows = self.backlog.stored_rows(wanted, at)
        scores = {s.ticket_id: s for s in scorer.score(rows)}
        out = []
        for view in views:
            score = scores.get(view.ticket_id)
            if score is None:
                out.append(view)
                continue
            median, p90 = _time_to_breach(score)
            out.append(
                TicketView(
                    **{
                        **vars(view),
                        "probability": score.probability,
                        "reasons": [r.text for r in score.reasons],
                        "time_to_breach_hours": median,
                        "time_to_breach_p90_hours": p90,
                    }
                )
            )
        return out

    def _last_updates(self, views: list[TicketView]) -> dict[str, Any]:
        config = self.rules.customer_updates
        if config is None or not config.enabled or not views:
            return {}
        return last_customer_updates(self.backlog.engine, [v.ticket_id for v in views])

    def decide(
        self, views: list[TicketView], last_updates: dict[str, Any] | None = None
    ) -> list[AlertDecision]:
        """Return every decision the rules and customer updates make."""
        decisions = [
            alert_decision(firing, view, self.rules, self.calendars)
            for view in views
            for firing in firings(self.rules, view)
        ]
        config = self.rules.customer_updates
        if config is None or not config.enabled:
            return decisions
        last = self._last_updates(views) if last_updates is None else last_updates
        for view in views:
            due = view.at + timedelta(hours=config.silence_hours)
            for trigger, cycle in customer_triggers(
                view, self.backlog.desk, config, last.get(view.ticket_id)
            ):
                made = customer_decision(trigger, cycle, view, config, due)
                if made is not None:
                    decisions.append(made)
        return decisions

    def recheck_held(self, message: ClaimedMessage, at: datetime) -> str | None:
        """Return why a message held for quiet hours should not go at ``at``.

        An alert about an SLA clock still holds while its ticket is open and
        that clock, in the same cycle, is still counting; None means send.
        Customer updates are sent as held.
        """
        alert = alert_of(self.backlog.engine, message.alert_id)
        if alert is None or alert["kind"] != "alert" or alert["clock"] is None:
            return None
        views = self.views([message.ticket_id], at)
        if not views:
            return None
        view = views[0]
        if not view.is_open:
            state = "merged" if view.clocks.merged else f"{view.clocks.status!r}"
            return (
                f"ticket {message.ticket_id} is {state} at {at.isoformat()}: rule "
                f"{alert['rule']} no longer holds, the held message is not sent"
            )
        clock = view.clocks.clocks.get(alert["clock"])
        if clock is None or not counting(clock) or cycle_of(clock) != alert["cycle"]:
            return (
                f"the {alert['clock']} clock of cycle {alert['cycle']} is no longer "
                f"counting at {at.isoformat()}: rule {alert['rule']} no longer "
                "holds, the held message is not sent"
            )
        return None

    def wake_up(
        self, view: TicketView, last_update: datetime | None = None
    ) -> datetime | None:
        """Return when this ticket should be looked at again without an event.

        ``last_update`` is when the ticket's latest customer update was decided.
        """
        times = [next_wake_up(self.rules, view)]
        config = self.rules.customer_updates
        if config is not None and config.enabled:
            times.append(silence_wake_up(view, self.backlog.desk, config, last_update))
        known = [t for t in times if t is not None]
        return min(known) if known else None

    def evaluate(
        self, ticket_ids: Iterable[str], *, at: datetime | None = None
    ) -> Evaluation:
        """Evaluate tickets at ``at`` (default: the engine's clock) and store alerts.

        Decisions, their outbox rows and audit entries are written in one
        transaction; a decision already stored (same ticket, rule and cycle)
        is skipped.
        """
        moment = at or self.clock()
        views = self.views(ticket_ids, moment)
        decisions = self.decide(views, self._last_updates(views))
        created = record_decisions(self.backlog.engine, decisions, now=moment)
        # Wake-ups see the customer updates just decided.
        last = self._last_updates(views)
        if created:
            log.info(
                "alerts_decided",
                extra={"alerts": len(created), "at": moment.isoformat()},
            )
        return Evaluation(
            at=moment,
            evaluated=len(views),
            decided=len(created),
            wake_ups={
                v.ticket_id: self.wake_up(v, last.get(v.ticket_id)) for v in views
            },
        )
