"""The work behind the API: score tickets and rank the backlog.

Routes hand plain values in and get dataclasses back; every data frame and
model call stays on this side of the boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from features.alerts.feedback import latest_feedback
from features.sla.clocks import compute_clocks
from features.sla.model import TicketClocks
from features.store import ingest_live_events, keep_rejected, ticket_spans
from models.alerts.engine import AlertEngine
from models.answers import (
    Escalation,
    EscalationPage,
    ModelUnavailableError,
    NotYetOpenError,
    Readiness,
    TicketRisk,
    UnknownTicketError,
)
from models.backlog import Backlog
from models.escalation import rank
from models.escalation_items import escalation_items, until_breach
from models.reasons import Reason
from models.scorer import BundleError, CurrentPointer, StallScorer, TimeToBreach
from models.ticket_scorer import RowScorer, sent_ticket_row
from training.bundle import load_bundle

log = logging.getLogger("stallwatch.models")


class StallService:
    """Holds the backlog and the model; reloads the model when it changes."""

    def __init__(self, backlog: Backlog, model_dir: Path) -> None:
        self.backlog = backlog
        self.model_dir = model_dir
        #: CURRENT, read again only when the file changes (one stat a request).
        self._pointer = CurrentPointer(model_dir)
        self._scorer: StallScorer | None = None
        self._row_scorer: RowScorer | None = None
        self._refused: tuple[str, object] | None = None
        #: Why the model CURRENT names is not served; None when it is.
        self._problem: BundleError | None = None
        #: The served bundle's file stamp when it was loaded, and the last
        #: stamp checked since with what the check found.
        self._loaded_stamp: object = None
        self._file_check: tuple[object, BundleError | None] | None = None
        self._lock = threading.Lock()
        #: Evaluates alert rules on stored events; None when alerts are off.
        self.alerts: AlertEngine | None = None

    def scorer(self) -> StallScorer | None:
        """Return the current model, loading a newly pointed-to one if needed."""
        wanted = self._pointer.version()
        with self._lock:
            if wanted is None:
                if self._scorer is None:
                    self._problem = BundleError(
                        f"no model is promoted in {self.model_dir}",
                        reason="model_missing",
                    )
                return self._scorer
            stale = self._scorer is None or self._scorer.version != wanted
            if not stale:
                self._problem = None
                return self._scorer
            # A refused bundle is tried again once CURRENT moves or its files change.
            refused = (wanted, StallScorer.stamp(self.model_dir, wanted))
            if refused != self._refused:
                try:
                    self._scorer = StallScorer.load(self.model_dir)
                    self._problem = None
                    self._loaded_stamp = refused[1]
                    self._file_check = None
                except BundleError as exc:
                    # Keep serving what is loaded (the SLA rules alone if nothing).
                    self._refused, self._problem = refused, exc
                    log.warning(
                        "model_load_failed",
                        extra={"error": str(exc), "reason": exc.reason},
                    )
            return self._scorer

    def readiness(self) -> Readiness:
        """Say whether the store answers and which model, if any, is served."""
        try:
            with self.backlog.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            return Readiness(
                status="unavailable",
                reason="store_unreachable",
                model_version=None,
                wanted_version=None,
                message=f"the event store does not answer: {type(exc).__name__}",
            )
        scorer = self.scorer()
        problem = self._problem
        if problem is None and scorer is not None:
            problem = self._served_file_problem(scorer.version)
        return Readiness(
            status="ready" if problem is None and scorer is not None else "degraded",
            reason=None if problem is None else problem.reason,
            model_version=None if scorer is None else scorer.version,
            wanted_version=StallScorer.newest_version(self.model_dir),
            message=None if problem is None else str(problem),
        )

    def _served_file_problem(self, version: str) -> BundleError | None:
        """Check the served bundle's file again if it changed since loading.

        The worker keeps serving the copy it loaded and checked; a damaged or
        deleted file is reported, since a restart would then rank by the SLA
        rules alone.
        """
        stamp = StallScorer.stamp(self.model_dir, version)
        if stamp == self._loaded_stamp:
            return None
        checked = self._file_check
        if checked is None or checked[0] != stamp:
            try:
                # What a restart would do: the hash check, then unpickling.
                load_bundle(self.model_dir, version)
                found = None
            except BundleError as exc:
                found = BundleError(
                    f"the served model's file changed on disk ({exc}); this "
                    "worker serves the copy it loaded, a restart would rank by "
                    "the SLA rules alone",
                    reason="model_file_changed",
                )
            checked = self._file_check = (stamp, found)
        return checked[1]

    def score_tickets(
        self,
        tickets: Sequence[tuple[str, list[dict[str, Any]] | None]],
        *,
        at: datetime,
    ) -> tuple[list[TicketRisk], str]:
        """Score tickets given by id (from the store) or by their events."""
        scorer = self.scorer()
        if scorer is None:
            problem = self._problem
            raise ModelUnavailableError(
                "no model is loaded, so no stall score is given; the escalation "
                "list ranks by the SLA rules alone"
                + (
                    f" ({problem})"
                    if problem is not None and problem.reason != "model_missing"
                    else ": run `stallwatch train`, then `stallwatch promote`"
                ),
                reason="model_missing" if problem is None else problem.reason,
            )
        # One ticket, sent with its events or asked for by id (a CRM's call):
        # no data frames.
        if len(tickets) == 1:
            ticket_id, events = tickets[0]
            risk: TicketRisk | None = None
            if events is None:
                risk = self._score_stored(scorer, ticket_id, at)
            elif events:
                risk = self._score_sent(scorer, ticket_id, events, at)
            if risk is not None:
                return [risk], scorer.version

        # Stored tickets and sent tickets are featurised the same way.
        stored = [(i, t) for i, (t, ev) in enumerate(tickets) if ev is None]
        known = set(self.backlog.states()["ticket_id"].unique())
        for index, ticket_id in stored:
            if ticket_id not in known:
                raise UnknownTicketError(index, ticket_id)
        frames = []
        if stored:
            frames.append(self.backlog.stored_rows([t for _, t in stored], at))
        sent = [dict(e, ticket_id=t) for t, ev in tickets if ev for e in ev]
        if sent:
            frames.append(self.backlog.rows_for_events(pd.DataFrame(sent), at))
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        found = set(rows["ticket_id"]) if not rows.empty else set()
        for index, (ticket_id, _) in enumerate(tickets):
            if ticket_id not in found:
                raise NotYetOpenError(index, ticket_id)

        scores = {s.ticket_id: s for s in scorer.score(rows)}
        still_open = dict(zip(rows["ticket_id"], ~rows["done"], strict=True))
        breached = dict(
            zip(rows["ticket_id"], rows["sla_breached_clocks"] > 0, strict=True)
        )
        return [
            TicketRisk(
                ticket_id=t,
                probability=scores[t].probability,
                band=scores[t].band,
                reasons=scores[t].reasons,
                is_open=bool(still_open[t]),
                time_to_breach=until_breach(
                    scores[t].time_to_breach,
                    is_open=bool(still_open[t]),
                    breached=bool(breached[t]),
                ),
            )
            for t, _ in tickets
        ], scorer.version

    def _score_sent(
        self,
        scorer: StallScorer,
        ticket_id: str,
        events: list[dict[str, Any]],
        at: datetime,
    ) -> TicketRisk | None:
        """Score one sent ticket on plain rows; None when the store holds its id.

        A stored ticket's own events would have to leave the desk's counts
        first; the batch path does that.
        """
        # desk_context() checks the store's version: one row read per request.
        context = self.backlog.desk_context()
        if ticket_id in context.tickets:
            return None
        row = sent_ticket_row(self.backlog.desk, context, ticket_id, events, at)
        if row is None:
            raise NotYetOpenError(0, ticket_id)
        return self._score_row(scorer, ticket_id, row)

    def _score_stored(
        self, scorer: StallScorer, ticket_id: str, at: datetime
    ) -> TicketRisk:
        """Score one stored ticket, asked for by id, on plain rows."""
        context, events = self.backlog.stored_ticket(ticket_id)
        if events is None:
            raise UnknownTicketError(0, ticket_id)
        desk = self.backlog.desk
        row = sent_ticket_row(desk, context, ticket_id, events, at, stored=True)
        if row is None:
            raise NotYetOpenError(0, ticket_id)
        return self._score_row(scorer, ticket_id, row)

    def _score_row(
        self, scorer: StallScorer, ticket_id: str, row: dict[str, Any]
    ) -> TicketRisk:
        one = self._row_scorer
        if one is None or one.bundle is not scorer.bundle:
            one = self._row_scorer = RowScorer(scorer.bundle)
        score = one.score(row)
        return TicketRisk(
            ticket_id=ticket_id,
            probability=score.probability,
            band=score.band,
            reasons=score.reasons,
            is_open=not row["done"],
            time_to_breach=until_breach(
                score.time_to_breach,
                is_open=not row["done"],
                breached=row["sla_breached_clocks"] > 0,
            ),
        )

    def warm_up(self) -> None:
        """Build the backlog's states and clocks now, not on the first request."""
        started = time.perf_counter()
        self.backlog.states()
        self.backlog.desk_context()
        log.info(
            "backlog_built",
            extra={"seconds": round(time.perf_counter() - started, 1)},
        )

    def ingest_events(
        self, records: list[dict[str, Any]], rejected: list[tuple[str, str]]
    ) -> tuple[set[str], set[str]]:
        """Store live events; return the ids written and those in conflict.

        With alerts on, the tickets that received new events are evaluated at
        once; a failure there is logged and the worker's next tick catches up.
        """
        engine = self.backlog.engine
        written, conflicting = ingest_live_events(engine, records, rejected)
        if self.alerts is not None and written:
            changed = {str(r["ticket_id"]) for r in records if r["event_id"] in written}
            try:
                self.alerts.evaluate(changed)
            except Exception as exc:  # the events are stored; alerts catch up
                log.warning("alert_evaluation_failed", extra={"error": repr(exc)})
        return written, conflicting

    def ticket_spans(
        self, ticket_ids: set[str]
    ) -> dict[str, tuple[datetime | None, datetime]]:
        """Return stored tickets' earliest ``created`` instant and earliest event."""
        return ticket_spans(self.backlog.engine, ticket_ids)

    def keep_rejected(self, rejected: list[tuple[str, str]]) -> None:
        """Keep refused payloads and their problems in the store."""
        keep_rejected(self.backlog.engine, rejected)

    def ticket_sla(self, ticket_id: str, *, at: datetime) -> TicketClocks:
        """Return every SLA clock of a stored ticket as of ``at``, with ledgers."""
        stored = self.backlog.ticket_events(ticket_id)
        if stored.empty:
            raise UnknownTicketError(0, ticket_id)
        known = stored[stored["occurred_at"] <= pd.Timestamp(at)]
        if known.empty:
            raise NotYetOpenError(0, ticket_id)
        desk = self.backlog.desk
        calendar = desk.calendar_at(known["occurred_at"].iloc[0].to_pydatetime())
        policy, events = desk.sla_events(known.astype(object).to_dict("records"))
        return compute_clocks(calendar=calendar, policy=policy, events=events, at=at)

    def escalations(
        self,
        *,
        at: datetime,
        group: str | None = None,
        category: str | None = None,
        channel: str | None = None,
        flag: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> EscalationPage:
        """Rank every open ticket at ``at`` and return one page of the list."""
        rows = self.backlog.open_rows(at)
        if group is not None:
            rows = rows[rows["group"] == group]
        if category is not None:
            rows = rows[rows["category"] == category]
        if channel is not None:
            rows = rows[rows["channel"] == channel]
        # Managers' feedback: a snoozed ticket leaves the list until its time.
        feedback = latest_feedback(self.backlog.engine, at=at)
        snoozed = [
            ticket
            for ticket, f in feedback.items()
            if f["action"] == "snooze" and f["until"] > at
        ]
        rows = rows[~rows["ticket_id"].isin(snoozed)]
        rows = rows.reset_index(drop=True)
        scorer = self.scorer()

        probability = bands = None
        if scorer is not None and not rows.empty:
            probability = scorer.probabilities(rows)
            bands = scorer.bundle.band(probability)
        order, why = rank(rows, probability, bands)
        if flag is not None:
            order = np.array([p for p in order if why[p].flag == flag], dtype=int)
        page = order[offset : offset + limit]

        explained: dict[int, list[Reason]] = {}
        timed: dict[int, TimeToBreach | None] = {}
        if scorer is not None and len(page):
            for position, scored in zip(
                page, scorer.score(rows.iloc[page]), strict=True
            ):
                explained[int(position)] = scored.reasons
                timed[int(position)] = scored.time_to_breach
        items = escalation_items(
            rows,
            page,
            offset=offset,
            why=why,
            probability=probability,
            bands=bands,
            explained=explained,
            timed=timed,
            feedback=feedback,
        )
        return EscalationPage(
            total=len(order),
            items=items,
            model_version=None if scorer is None else scorer.version,
        )


__all__ = [
    "Escalation",
    "EscalationPage",
    "ModelUnavailableError",
    "NotYetOpenError",
    "Readiness",
    "StallService",
    "TicketRisk",
    "UnknownTicketError",
]
