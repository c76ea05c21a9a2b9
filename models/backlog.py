"""The backlog as the service sees it: as-of feature rows from the event store."""

from __future__ import annotations

import threading
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Engine

from features.asof import event_states, features_at, open_tickets_at
from features.events import conform_events
from features.store import count_events, read_events


class Backlog:
    """Event states of the whole store, rebuilt when the store changes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._version = -1
        self._states: pd.DataFrame | None = None

    def states(self) -> pd.DataFrame:
        """Return the current event states, rebuilding them if events arrived."""
        version = count_events(self.engine)
        with self._lock:
            if self._states is None or version != self._version:
                self._states = event_states(read_events(self.engine))
                self._version = version
            return self._states

    def open_rows(self, at: datetime) -> pd.DataFrame:
        """Return feature rows of every ticket open at ``at``."""
        return open_tickets_at(self.states(), at)

    def stored_rows(self, ticket_ids: list[str], at: datetime) -> pd.DataFrame:
        """Return feature rows at ``at`` for tickets already in the store."""
        moments = pd.DataFrame({"ticket_id": ticket_ids, "at": pd.Timestamp(at)})
        return features_at(self.states(), moments)

    def rows_for_events(self, events: pd.DataFrame, at: datetime) -> pd.DataFrame:
        """Return feature rows at ``at`` for tickets described by their events.

        The tickets' own features come from the events sent; the desk context
        (group load, requester history) comes from the store.
        """
        sent = conform_events(events)
        stored = self.states()
        others = stored[~stored["ticket_id"].isin(sent["ticket_id"].unique())]
        states = pd.concat([others, event_states(sent)], ignore_index=True)
        tickets = sent["ticket_id"].drop_duplicates().tolist()
        moments = pd.DataFrame({"ticket_id": tickets, "at": pd.Timestamp(at)})
        return features_at(states, moments)
