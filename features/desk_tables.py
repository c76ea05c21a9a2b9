"""Desk-wide tables that every ticket's as-of features read: group load and
requester history, added up from per-ticket facts so that parts combine exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from features.events import DONE_STATUSES


@dataclass(frozen=True)
class DeskTables:
    """Desk-wide tables that the as-of features of every ticket read.

    ``load`` holds, per group, the number of open tickets after each change
    (columns ``group``, ``t_ns``, ``group_load``); ``requesters`` each
    requester's running count of tickets by creation instant (``requester``,
    ``created_ns``, ``requester_tickets``). Both add up per-ticket facts, so
    the tables of tickets split into parts combine exactly
    (:func:`combine_desk_tables`).
    """

    load: pd.DataFrame
    requesters: pd.DataFrame


def _load_changes(states: pd.DataFrame) -> pd.DataFrame:
    """Return each ticket's joins (+1) and departures (-1) of a group's queue."""
    done = states["status"].isin(list(DONE_STATUSES)).fillna(False) | states["merged"]
    member = states["group"].where(~done)
    previous = member.groupby(states["ticket_id"]).shift(1)
    changed = ~(member.eq(previous).fillna(False) | (member.isna() & previous.isna()))
    leaving = states.loc[changed & previous.notna(), ["t_ns"]].assign(
        group=previous[changed & previous.notna()], delta=-1
    )
    joining = states.loc[changed & member.notna(), ["t_ns"]].assign(
        group=member[changed & member.notna()], delta=1
    )
    return pd.concat([leaving, joining], ignore_index=True)


def _ticket_requesters(states: pd.DataFrame) -> pd.DataFrame:
    """Return each ticket's requester and creation instant."""
    tickets = states.drop_duplicates("ticket_id")[["requester", "created_ns"]]
    return tickets.dropna(subset=["requester"]).reset_index(drop=True)


def _context_totals(changes: pd.DataFrame, requesters: pd.DataFrame) -> DeskTables:
    """Add up per-ticket changes and requesters into the desk-wide tables."""
    deltas = changes.sort_values("t_ns", kind="stable")
    deltas["group_load"] = deltas.groupby("group")["delta"].cumsum()
    # The last row of an instant holds the total after every change at it.
    deltas = deltas.drop_duplicates(["group", "t_ns"], keep="last")
    tickets = requesters.sort_values("created_ns", kind="stable")
    tickets["requester_tickets"] = tickets.groupby("requester").cumcount() + 1
    tickets = tickets.drop_duplicates(["requester", "created_ns"], keep="last")
    return DeskTables(
        load=deltas[["group", "t_ns", "group_load"]].reset_index(drop=True),
        requesters=tickets.reset_index(drop=True),
    )


def desk_tables(states: pd.DataFrame) -> DeskTables:
    """Return the desk-wide tables of the tickets in ``states``."""
    return _context_totals(_load_changes(states), _ticket_requesters(states))


def desk_table_parts(states: pd.DataFrame) -> DeskTables:
    """Return the per-ticket facts of ``states`` before they are added up.

    The tables of disjoint sets of tickets go to :func:`combine_desk_tables`.
    """
    return DeskTables(load=_load_changes(states), requesters=_ticket_requesters(states))


def combine_desk_tables(parts: Sequence[DeskTables]) -> DeskTables:
    """Add up :func:`desk_table_parts` of disjoint sets of tickets.

    The result equals :func:`desk_tables` of all the tickets together.
    """
    changes = pd.concat([p.load for p in parts], ignore_index=True)
    requesters = pd.concat([p.requesters for p in parts], ignore_index=True)
    return _context_totals(changes, requesters)
