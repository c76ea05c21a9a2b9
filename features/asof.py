"""As-of features: what was known about each ticket at a moment, and nothing later.

The builder works in two steps. :func:`event_states` folds each ticket's events
into its cumulative state after every instant at which something happened.
:func:`features_at` then joins any set of (ticket, moment) pairs to the last
state at or before the moment and adds the quantities that grow with time
(age, time in the current status, time since the last agent action).
Training asks for many moments per ticket, the service for "now"; both run
this same code, vectorised over all tickets.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from features.desk_tables import (
    DeskTables,
    combine_desk_tables,
    desk_table_parts,
    desk_tables,
)
from features.events import DONE_STATUSES, PRIORITIES, ActorRole, EventKind, Status

#: Ticket attributes carried forward from the latest event that set them.
STATE_COLUMNS = (
    "requester",
    "customer_tier",
    "group",
    "assignee",
    "status",
    "priority",
    "channel",
    "category",
    "subcategory",
    "topic",
)

#: Statuses whose accumulated time is a feature.
TIMED_STATUSES = (
    Status.NEW,
    Status.OPEN,
    Status.WAITING_CUSTOMER,
    Status.WAITING_THIRD_PARTY,
)

#: Categorical model features.
CATEGORICAL_FEATURES = (
    "category",
    "subcategory",
    "topic",
    "group",
    "channel",
    "priority",
    "status",
)

#: Numeric model features, in hours where they are durations.
NUMERIC_FEATURES = (
    "age_hours",
    "n_events",
    "handoffs",
    "group_returns",
    "hours_since_last_handoff",
    "distinct_people",
    "distinct_groups",
    "reopens",
    "priority_changes",
    "priority_rank",
    *(f"hours_status_{s}" for s in TIMED_STATUSES),
    "hours_waiting",
    "hours_in_current_status",
    "agent_actions",
    "hours_since_agent_action",
    "customer_messages",
    "hours_since_customer_message",
    "has_assignee",
    "requester_prior_tickets",
    "group_load",
    "hour_of_day",
    "day_of_week",
)

#: Inter-case features that describe the whole desk (and, in an extract, the
#: window the extract was cut from) rather than the ticket itself.
LOAD_FEATURES = ("group_load",)

FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES

_NS_PER_HOUR = 3_600 * 1_000_000_000


def _to_ns(values: pd.Series) -> pd.Series:
    utc = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return utc.astype("int64")


def event_states(events: pd.DataFrame) -> pd.DataFrame:
    """Fold events into each ticket's cumulative state after every instant.

    Parameters
    ----------
    events : DataFrame
        Canonical events (see :func:`features.events.conform_events`), sorted
        by ticket, time and sequence.

    Returns
    -------
    DataFrame
        One row per (ticket, distinct event instant) holding the state after
        all events at that instant. Times are int64 nanoseconds since the
        epoch (UTC) in columns ending ``_ns``; NaN-valued times are missing.
    """
    ev = events.reset_index(drop=True)
    ticket = ev["ticket_id"]
    by_ticket = ev.groupby(ticket, sort=False)
    t = _to_ns(ev["occurred_at"]).astype("float64")
    kind = ev["kind"]

    # Carry each attribute forward from the last event that set it.
    state = pd.DataFrame({"ticket_id": ticket, "t_ns": t})
    for column in STATE_COLUMNS:
        state[column] = by_ticket[column].ffill()

    # Creation, activity counters and last-activity instants.
    # A ticket exists from its first event, normally the ``created`` one.
    state["created_ns"] = t.groupby(ticket).transform("min")
    state["n_events"] = by_ticket.cumcount() + 1
    agent_action = (ev["actor_role"] == ActorRole.AGENT) & (kind != EventKind.CREATED)
    agent_action = agent_action.fillna(False)
    customer_message = kind == EventKind.CUSTOMER_MESSAGE
    state["agent_actions"] = agent_action.groupby(ticket).cumsum()
    state["last_agent_ns"] = t.where(agent_action).groupby(ticket).ffill()
    state["customer_messages"] = customer_message.groupby(ticket).cumsum()
    state["last_customer_ns"] = t.where(customer_message).groupby(ticket).ffill()
    state["reopens"] = (kind == EventKind.REOPENED).groupby(ticket).cumsum()
    state["priority_changes"] = (
        (kind == EventKind.PRIORITY_CHANGED).groupby(ticket).cumsum()
    )
    breached = (kind == EventKind.SLA_BREACHED).groupby(ticket).cumsum() > 0
    state["breached"] = breached
    merged = (kind == EventKind.MERGED).groupby(ticket).cumsum() > 0
    state["merged"] = merged

    # Hand-offs: the group changes; a return goes back to a group held before.
    group = state["group"]
    previous_group = group.groupby(ticket).shift(1)
    handoff = group.notna() & previous_group.notna() & (group != previous_group)
    handoff = handoff.fillna(False).astype(bool)
    held_before = state.duplicated(["ticket_id", "group"]) & group.notna()
    state["handoffs"] = handoff.groupby(ticket).cumsum()
    state["group_returns"] = (handoff & held_before).groupby(ticket).cumsum()
    # Whether the latest hand-off went back to a group held before (for reasons).
    back = (handoff & held_before).astype("float64").where(handoff)
    state["back_with_group"] = back.groupby(ticket).ffill().fillna(0.0) > 0
    state["last_handoff_ns"] = t.where(handoff).groupby(ticket).ffill()
    first_group = ~state.duplicated(["ticket_id", "group"]) & group.notna()
    state["distinct_groups"] = first_group.groupby(ticket).cumsum()
    state["distinct_people"] = _distinct_people(ev)

    # Time spent in each status, closed off at every event.
    status = state["status"]
    previous_t = t.groupby(ticket).shift(1)
    segment = (t - previous_t).fillna(0.0)
    segment_status = status.groupby(ticket).shift(1)
    for name in TIMED_STATUSES:
        in_status = (segment_status == name).fillna(False).astype(bool)
        spent = segment.where(in_status, 0.0)
        state[f"ns_status_{name}"] = spent.groupby(ticket).cumsum()
    status_change = (status != segment_status).fillna(True).astype(bool)
    state["status_since_ns"] = t.where(status_change).groupby(ticket).ffill()

    # One row per instant: the state after everything that happened then.
    state = state.drop_duplicates(["ticket_id", "t_ns"], keep="last")
    return state.reset_index(drop=True)


def _distinct_people(events: pd.DataFrame) -> pd.Series:
    """Count distinct people (non-system actors and assignees) seen so far."""
    position = np.arange(len(events))
    actors = events["actor"].where(events["actor_role"] != ActorRole.SYSTEM)
    people = pd.concat(
        [
            pd.DataFrame(
                {"pos": position, "ticket_id": events["ticket_id"], "who": actors}
            ),
            pd.DataFrame(
                {
                    "pos": position,
                    "ticket_id": events["ticket_id"],
                    "who": events["assignee"],
                }
            ),
        ]
    )
    people = people.sort_values("pos", kind="stable").dropna(subset=["who"])
    is_new = ~people.duplicated(["ticket_id", "who"])
    new_per_row = is_new.groupby(people["pos"]).sum()
    counts = pd.Series(0, index=position, dtype="int64")
    counts.loc[new_per_row.index] = new_per_row.to_numpy()
    return counts.groupby(events["ticket_id"].to_numpy()).cumsum()


def features_at(
    states: pd.DataFrame,
    moments: pd.DataFrame,
    *,
    tables: DeskTables | None = None,
) -> pd.DataFrame:
    """Build one feature row per (ticket, moment) from the states up to it.

    Parameters
    ----------
    states : DataFrame
        Output of :func:`event_states`.
    moments : DataFrame
        Columns ``ticket_id`` and ``at`` (UTC instants). Moments before a
        ticket's first event are dropped.
    tables : DeskTables, optional
        Group load and requester history of the whole desk; by default those
        of the tickets in ``states``. A part of the desk's tickets (one
        partition of a distributed build) passes the whole desk's.

    Returns
    -------
    DataFrame
        Columns ``ticket_id``, ``at``, the ticket's state columns, ``done``,
        ``breached``, ``merged``, ``back_with_group`` (the latest hand-off
        went back to a group the ticket had left; not a model feature) and
        every name in :data:`FEATURES`; durations in hours. Ordered like
        ``moments``.
    """
    asked = moments[["ticket_id", "at"]].copy()
    asked["ticket_id"] = asked["ticket_id"].astype("string")
    asked["order"] = np.arange(len(asked))
    asked["at_ns"] = _to_ns(pd.to_datetime(asked["at"], utc=True)).astype("float64")
    asked = asked.sort_values("at_ns", kind="stable")

    # The last state of each ticket at or before each moment.
    rows = pd.merge_asof(
        asked,
        states.sort_values("t_ns", kind="stable"),
        left_on="at_ns",
        right_on="t_ns",
        by="ticket_id",
        direction="backward",
    ).dropna(subset=["t_ns"])

    # Desk-wide context at the moment: group load and requester history.
    if tables is None:
        tables = desk_tables(states)
    rows = pd.merge_asof(
        rows.sort_values("at_ns", kind="stable"),
        tables.load.rename(columns={"t_ns": "load_ns"}).sort_values("load_ns"),
        left_on="at_ns",
        right_on="load_ns",
        by="group",
        direction="backward",
    )
    rows = pd.merge_asof(
        rows,
        tables.requesters.rename(columns={"created_ns": "req_ns"}).sort_values(
            "req_ns"
        ),
        left_on="at_ns",
        right_on="req_ns",
        by="requester",
        direction="backward",
    )
    return _finish_features(rows).sort_values("order").drop(columns="order")


def _hours(ns: pd.Series) -> pd.Series:
    return ns.astype("float64") / _NS_PER_HOUR


def _finish_features(rows: pd.DataFrame) -> pd.DataFrame:
    at = rows["at_ns"]
    since_event = at - rows["t_ns"]
    out = pd.DataFrame(
        {
            "ticket_id": rows["ticket_id"],
            "at": pd.to_datetime(at.astype("int64"), utc=True),
            "order": rows["order"],
        }
    )
    for column in STATE_COLUMNS:
        out[column] = rows[column]
    # A merge is final: the ticket lives on in the one it was merged into.
    out["done"] = rows["status"].isin(list(DONE_STATUSES)).fillna(False) | rows[
        "merged"
    ].astype(bool)
    out["breached"] = rows["breached"].astype(bool)
    out["merged"] = rows["merged"].astype(bool)
    out["back_with_group"] = rows["back_with_group"].astype(bool)
    out["created_at"] = pd.to_datetime(rows["created_ns"].astype("int64"), utc=True)

    out["age_hours"] = _hours(at - rows["created_ns"])
    for column in (
        "n_events",
        "handoffs",
        "group_returns",
        "distinct_people",
        "distinct_groups",
        "reopens",
        "priority_changes",
        "agent_actions",
        "customer_messages",
    ):
        out[column] = rows[column].astype("float64")
    out["hours_since_last_handoff"] = _hours(at - rows["last_handoff_ns"])
    rank = {name: float(i + 1) for i, name in enumerate(PRIORITIES)}
    out["priority_rank"] = rows["priority"].map(rank).astype("float64")

    # Status time so far, the current segment included.
    waiting = pd.Series(0.0, index=rows.index)
    for name in TIMED_STATUSES:
        current = (rows["status"] == name).fillna(False).astype(bool)
        spent = rows[f"ns_status_{name}"] + since_event.where(current, 0.0)
        out[f"hours_status_{name}"] = _hours(spent)
        if name in (Status.WAITING_CUSTOMER, Status.WAITING_THIRD_PARTY):
            waiting += out[f"hours_status_{name}"]
    out["hours_waiting"] = waiting
    out["hours_in_current_status"] = _hours(at - rows["status_since_ns"])

    # Silence: since the last agent action (or creation) and customer message.
    last_agent = rows["last_agent_ns"].fillna(rows["created_ns"])
    out["hours_since_agent_action"] = _hours(at - last_agent)
    out["hours_since_customer_message"] = _hours(at - rows["last_customer_ns"])
    out["has_assignee"] = rows["assignee"].notna().astype("float64")

    # Desk context and the clock face.
    prior = rows["requester_tickets"] - 1.0
    out["requester_prior_tickets"] = prior.where(rows["requester"].notna())
    out["group_load"] = rows["group_load"].astype("float64")
    stamp = out["at"]
    out["hour_of_day"] = stamp.dt.hour.astype("float64")
    out["day_of_week"] = stamp.dt.day_of_week.astype("float64")
    return out.reset_index(drop=True)


def open_tickets_at(states: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """Return the feature rows of every ticket open at ``at``.

    A ticket is open when it has been created, is neither resolved, closed nor
    merged into another ticket, as of ``at``.
    """
    at_ns = pd.Timestamp(at).tz_convert("UTC").value
    known = states[states["t_ns"] <= at_ns]
    tickets = known["ticket_id"].drop_duplicates()
    moments = pd.DataFrame({"ticket_id": tickets, "at": pd.Timestamp(at_ns, tz="UTC")})
    rows = features_at(states, moments)
    return rows[~rows["done"] & ~rows["merged"]].reset_index(drop=True)


# The desk-wide tables live in features.desk_tables; named here too, where
# their callers have always found them.
__all__ = ["DeskTables", "combine_desk_tables", "desk_table_parts", "desk_tables"]
