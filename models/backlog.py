"""The backlog as the service sees it: as-of feature rows and SLA clocks.

Event states and the clock history of the whole store are built once per
store version; any moment is then a join and an array roll-forward.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from features.asof import event_states, features_at
from features.events import EVENT_COLUMNS, conform_events
from features.sla.calendar import BusinessCalendar
from features.sla.desk import SlaDesk
from features.sla.features import SLA_FEATURES, sla_features
from features.sla.policy import TARGETS
from features.sla.table import clock_history_frame, clocks_at, lookup_history
from features.store import read_events, store_version, tickets_ingested_since
from features.ticket_row import DeskContext

#: Incremental updates tried in a row before reading the whole store again.
_CATCH_UP = 5

#: Business minutes elapsed on each target's latest clock, read by the reasons.
_ELAPSED = tuple(f"sla_{t}_elapsed_minutes" for t in TARGETS)


@dataclass(frozen=True)
class _Built:
    version: int
    read_at: datetime
    events: pd.DataFrame
    states: pd.DataFrame
    history: pd.DataFrame
    calendars: dict[str, BusinessCalendar]


def with_clocks(
    rows: pd.DataFrame,
    history: pd.DataFrame,
    calendars: dict[str, BusinessCalendar],
) -> pd.DataFrame:
    """Add SLA features and the clock summary that ranking reads.

    Adds :data:`features.sla.features.SLA_FEATURES`, ``sla_next_due`` (the
    nearest due instant of a running clock), ``sla_least_share_left`` (the
    smallest share of a target left on a running, unbreached clock),
    ``sla_breached_since`` (the earliest due instant of a breached clock),
    ``sla_clocks`` (target: state, for the reader) and
    ``sla_<target>_elapsed_minutes`` (business minutes, for the reasons).
    """
    rows = rows.reset_index(drop=True)
    if rows.empty:
        extra = [*SLA_FEATURES, "sla_least_share_left", "sla_next_due"]
        extra += ["sla_breached_since", "sla_clocks", *_ELAPSED]
        return rows.assign(**dict.fromkeys(extra))
    clocks = clocks_at(history, calendars, rows[["ticket_id", "at"]])
    features = sla_features(clocks, len(rows))
    for column in SLA_FEATURES:
        rows[column] = features[column].to_numpy()

    running = clocks["state"] == "running"
    share_left = (clocks["remaining_minutes"] / clocks["target_minutes"]).where(running)
    rows["sla_least_share_left"] = (
        share_left.groupby(clocks["order"]).min().reindex(rows.index).to_numpy()
    )
    next_due = clocks["due"].where(running)
    rows["sla_next_due"] = next_due.groupby(clocks["order"]).min().reindex(rows.index)
    breached_due = clocks["due"].where(clocks["breached"])
    rows["sla_breached_since"] = (
        breached_due.groupby(clocks["order"]).min().reindex(rows.index)
    )
    rows["sla_clocks"] = _clock_summaries(clocks, len(rows))
    for target, column in zip(TARGETS, _ELAPSED, strict=True):
        mine = clocks[clocks["target"] == target]
        elapsed = mine.set_index("order")["elapsed_minutes"]
        rows[column] = elapsed.reindex(rows.index).to_numpy(dtype=float)
    return rows


def _clock_summaries(clocks: pd.DataFrame, n_rows: int) -> list[dict[str, str] | None]:
    """Return, per row, its clocks as ``{target: state}``; ``None`` without any.

    One pass over plain lists: a group-by apply per row costs seconds on a
    backlog of 100,000 tickets.
    """
    summaries: list[dict[str, str] | None] = [None] * n_rows
    for order, target, state in zip(
        clocks["order"].tolist(),
        clocks["target"].tolist(),
        clocks["state"].tolist(),
        strict=True,
    ):
        summary = summaries[order]
        if summary is None:
            summary = summaries[order] = {}
        summary[target] = state
    return summaries


class Backlog:
    """Event states and clocks of the whole store, rebuilt when it changes."""

    def __init__(self, engine: Engine, desk: SlaDesk) -> None:
        self.engine = engine
        self.desk = desk
        self._lock = threading.Lock()
        self._built: _Built | None = None
        self._context: tuple[_Built, DeskContext] | None = None
        #: Each stored ticket's row positions in the built events, and those
        #: events' columns as plain Python values (missing ones None).
        self._lookup: tuple[_Built, dict[Any, np.ndarray], dict[str, Any]] | None = None

    def _current(self) -> _Built:
        # Read the store's version (its event count, one row) under the lock: a
        # version read before waiting is stale by the time the lock is ours,
        # and would turn concurrent updates into rebuilds.
        with self._lock:
            version = store_version(self.engine)
            built = self._built
            if built is None:
                built = self._rebuild(version)
            for _ in range(_CATCH_UP):
                if built.version == version:
                    break
                built = self._update(built)
                version = store_version(self.engine)
            else:
                if built.version != version:
                    built = self._rebuild(version)
            self._built = built
            return built

    def _rebuild(self, version: int) -> _Built:
        """Read the whole store and build everything from it."""
        read_at = datetime.now(UTC)
        events = read_events(self.engine)
        history, calendars = clock_history_frame(self.desk, events)
        return _Built(
            version,
            read_at,
            events,
            event_states(events),
            lookup_history(history),
            calendars,
        )

    def _update(self, built: _Built) -> _Built:
        """Rebuild only the tickets that received events.

        The version is the number of events held; when events arrive meanwhile
        it differs from the store's count and the caller updates again.
        """
        # Events stored a little before the last read may have been in flight.
        read_at = datetime.now(UTC)
        since = built.read_at - timedelta(seconds=5)
        changed = tickets_ingested_since(self.engine, since)
        fresh = read_events(self.engine, ticket_ids=changed)
        keep = ~built.events["ticket_id"].isin(changed)
        events = conform_events(pd.concat([built.events[keep], fresh]))
        history, calendars = clock_history_frame(self.desk, fresh)
        states = built.states[~built.states["ticket_id"].isin(changed)]
        kept_history = built.history[~built.history["ticket_id"].isin(changed)]
        return _Built(
            version=len(events),
            read_at=read_at,
            events=events,
            states=pd.concat([states, event_states(fresh)], ignore_index=True),
            history=lookup_history(
                pd.concat([kept_history, lookup_history(history)], ignore_index=True)
            ),
            calendars={**built.calendars, **calendars},
        )

    def states(self) -> pd.DataFrame:
        """Return the current event states, rebuilding them if events arrived."""
        return self._current().states

    def desk_context(self) -> DeskContext:
        """Return the store's group load and requester history, for sent tickets."""
        built = self._current()
        with self._lock:
            if self._context is None or self._context[0] is not built:
                self._context = (built, DeskContext.from_states(built.states))
            return self._context[1]

    def stored_ticket(
        self, ticket_id: str
    ) -> tuple[DeskContext, list[dict[str, Any]] | None]:
        """Return the desk context and one stored ticket's events as records.

        The records (None when the store does not hold the ticket) are plain
        dictionaries of the event columns, missing values left out, as a CRM
        would send them; one store-version check serves both.
        """
        built = self._current()
        with self._lock:
            if self._context is None or self._context[0] is not built:
                self._context = (built, DeskContext.from_states(built.states))
            if self._lookup is None or self._lookup[0] is not built:
                events = built.events
                positions = events.groupby("ticket_id", sort=False).indices
                columns = {
                    c: events[c].to_numpy(dtype=object, na_value=None)
                    for c in EVENT_COLUMNS
                }
                self._lookup = (built, positions, columns)
            context = self._context[1]
            _, positions, columns = self._lookup
        found = positions.get(ticket_id)
        if found is None:
            return context, None
        # Plain values, missing ones left out (NaN is the one unequal to itself).
        return context, [
            {
                name: value
                for name, column in columns.items()
                if (value := column[i]) is not None and value == value
            }
            for i in found
        ]

    def ticket_events(self, ticket_id: str) -> pd.DataFrame:
        """Return one ticket's stored events in time order."""
        events = self._current().events
        return events[events["ticket_id"] == ticket_id]

    def _rows(self, built: _Built, moments: pd.DataFrame) -> pd.DataFrame:
        rows = features_at(built.states, moments)
        return with_clocks(rows, built.history, built.calendars)

    def events(self) -> pd.DataFrame:
        """Return every stored event, sorted by ticket, time and sequence."""
        return self._current().events

    def rows_at(self, moments: pd.DataFrame) -> pd.DataFrame:
        """Return feature and clock rows for any (``ticket_id``, ``at``) pairs."""
        return self._rows(self._current(), moments)

    def open_rows(self, at: datetime) -> pd.DataFrame:
        """Return feature and clock rows of every ticket open at ``at``."""
        built = self._current()
        at_ns = pd.Timestamp(at).tz_convert("UTC").value
        known = built.states.loc[built.states["t_ns"] <= at_ns, "ticket_id"]
        moments = pd.DataFrame(
            {"ticket_id": known.drop_duplicates(), "at": pd.Timestamp(at_ns, tz="UTC")}
        )
        rows = features_at(built.states, moments)
        rows = rows[~rows["done"] & ~rows["merged"]]
        return with_clocks(rows, built.history, built.calendars)

    def stored_rows(self, ticket_ids: list[str], at: datetime) -> pd.DataFrame:
        """Return rows at ``at`` for tickets already in the store."""
        moments = pd.DataFrame({"ticket_id": ticket_ids, "at": pd.Timestamp(at)})
        return self._rows(self._current(), moments)

    def rows_for_events(self, events: pd.DataFrame, at: datetime) -> pd.DataFrame:
        """Return rows at ``at`` for tickets described by their events.

        The tickets' own features and clocks come from the events sent; the
        desk context (group load, requester history) comes from the store.
        """
        sent = conform_events(events)
        built = self._current()
        others = built.states[~built.states["ticket_id"].isin(sent["ticket_id"])]
        states = pd.concat([others, event_states(sent)], ignore_index=True)
        tickets = sent["ticket_id"].drop_duplicates().tolist()
        moments = pd.DataFrame({"ticket_id": tickets, "at": pd.Timestamp(at)})
        rows = features_at(states, moments)
        history, calendars = clock_history_frame(self.desk, sent)
        return with_clocks(rows, history, calendars)


__all__ = ["Backlog", "with_clocks"]
