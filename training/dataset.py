"""Prediction moments and stall labels for training and evaluation.

A *moment* is an instant at which the model could have been asked about an open
ticket: after each of its events, and once a day at a fixed UTC hour while it
stays open (so durations such as "hours since the last agent action" take the
values the service will see between events). A moment's label says whether the
ticket's SLA is breached after it; tickets whose outcome is not known yet are
censored and carry no label.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Literal

import joblib
import numpy as np
import pandas as pd

from features.asof import (
    DeskTables,
    combine_desk_tables,
    desk_table_parts,
    event_states,
    features_at,
)
from features.events import DONE_STATUSES, EventKind
from features.partition import ticket_partition
from features.sla.desk import SlaDesk
from features.sla.features import SLA_FEATURES, breach_instants, sla_features
from features.sla.table import clock_history_frame, clocks_at

_DAY_NS = 86_400 * 1_000_000_000
_HOUR_NS = 3_600 * 1_000_000_000


def _ns(instant: pd.Timestamp) -> int:
    """Return a UTC instant as integer nanoseconds since the epoch."""
    return int(pd.Timestamp(instant).tz_convert("UTC").as_unit("ns").value)


def ticket_outcomes(
    events: pd.DataFrame, *, breached_at: pd.Series | None = None
) -> pd.DataFrame:
    """Return each ticket's SLA outcome and when it became known.

    Parameters
    ----------
    events : DataFrame
        Canonical events.
    breached_at : Series, optional
        First breach instant per ticket from the SLA engine under a configured
        policy; by default the source's own ``sla_breached`` events.

    Returns
    -------
    DataFrame
        Indexed by ``ticket_id``: ``created_at``; ``breached_at`` (first
        ``sla_breached`` event, NaT if none); ``closed_at`` (last ``closed``);
        ``stalled`` (True, False, or NA when censored) and ``outcome_at``, the
        instant the outcome became known (NaT when censored).
    """
    grouped = events.groupby("ticket_id")["occurred_at"]
    created = grouped.min()
    breach = events[events["kind"] == EventKind.SLA_BREACHED]
    closed = events[events["kind"] == EventKind.CLOSED]
    out = pd.DataFrame({"created_at": created})
    if breached_at is None:
        breached_at = breach.groupby("ticket_id")["occurred_at"].min()
    out["breached_at"] = breached_at.reindex(out.index)
    out["closed_at"] = closed.groupby("ticket_id")["occurred_at"].max()
    breached = out["breached_at"].notna()
    known = breached | out["closed_at"].notna()
    out["stalled"] = pd.array(np.where(known, breached, pd.NA), dtype="boolean")
    out["outcome_at"] = out["breached_at"].where(breached, out["closed_at"])
    return out


def prediction_moments(
    states: pd.DataFrame,
    *,
    daily_hour_utc: int = 12,
    max_daily: int = 30,
    data_end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """List the moments at which each ticket was open and could be scored.

    Parameters
    ----------
    states : DataFrame
        Output of :func:`features.asof.event_states`.
    daily_hour_utc : int
        Hour of the daily review moment, UTC.
    max_daily : int
        At most this many daily moments per ticket.
    data_end : Timestamp, optional
        Where the data ends: daily moments of tickets still open stop there.
        By default the last instant in ``states``; a part of the desk's
        tickets passes the whole log's.

    Returns
    -------
    DataFrame
        Columns ``ticket_id``, ``at`` and ``moment`` (``"event"`` or
        ``"daily"``); the first event moment of a ticket is its first moment.
    """
    done = states["status"].isin(list(DONE_STATUSES)).fillna(False)
    live = ~done & ~states["breached"] & ~states["merged"]
    after_event = states.loc[live, ["ticket_id", "t_ns"]].assign(moment="event")

    # Daily moments from creation until the ticket is first done (or data end).
    first_done = states.loc[done].groupby("ticket_id")["t_ns"].min()
    life = states.groupby("ticket_id").agg(start=("created_ns", "first"))
    end = states["t_ns"].max() if data_end is None else float(_ns(data_end))
    life["end"] = first_done.reindex(life.index).fillna(end)
    offset = daily_hour_utc * _HOUR_NS
    first_day = np.ceil((life["start"] - offset) / _DAY_NS) * _DAY_NS + offset
    count = np.floor((life["end"] - first_day) / _DAY_NS) + 1
    count = count.clip(lower=0, upper=max_daily).fillna(0).astype("int64")
    repeat = np.repeat(np.arange(len(life)), count.to_numpy())
    step = np.arange(len(repeat)) - np.repeat(
        np.cumsum(count.to_numpy()) - count.to_numpy(), count.to_numpy()
    )
    daily = pd.DataFrame(
        {
            "ticket_id": life.index.to_numpy()[repeat],
            "t_ns": first_day.to_numpy()[repeat] + step * _DAY_NS,
            "moment": "daily",
        }
    )
    daily = daily[daily["t_ns"] < life["end"].to_numpy()[repeat]]

    moments = pd.concat([after_event, daily], ignore_index=True)
    moments["at"] = pd.to_datetime(moments["t_ns"].astype("int64"), utc=True)
    moments = moments.sort_values(["ticket_id", "at"], kind="stable")
    moments = moments.drop_duplicates(["ticket_id", "at"])
    first = ~moments["ticket_id"].duplicated()
    moments["first_moment"] = first.to_numpy()
    return moments[["ticket_id", "at", "moment", "first_moment"]].reset_index(drop=True)


def build_snapshots(
    events: pd.DataFrame,
    *,
    desk: SlaDesk | None = None,
    label: Literal["source", "policy"] = "source",
    states: pd.DataFrame | None = None,
    tables: DeskTables | None = None,
    data_end: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the labelled as-of feature table for every prediction moment.

    Parameters
    ----------
    events : DataFrame
        Canonical events.
    desk : SlaDesk, optional
        SLA set-up; adds the clock features (see
        :data:`features.sla.features.SLA_FEATURES`) computed by the engine.
    label : {"source", "policy"}
        A stall is the source's own breach (``sla_breached`` events) or the
        breach of any clock of the desk's policy (needs ``desk``).
    states : DataFrame, optional
        :func:`features.asof.event_states` of ``events``, if already built.
    tables, data_end : optional
        The whole desk's group load and requester history
        (:class:`features.asof.DeskTables`) and the instant its log ends, when
        ``events`` holds only some of its tickets (one partition of
        :mod:`training.distributed`); by default those of ``events``.

    Returns
    -------
    snapshots : DataFrame
        Feature rows (see :func:`features.asof.features_at`) joined with the
        ticket's outcome: ``stalled`` (NA when censored), ``outcome_at``,
        ``breached_at``, and the moment's ``moment`` and ``first_moment``.
        Moments at or after an observed breach are left out: by then the
        outcome is no longer a prediction.
    outcomes : DataFrame
        Per ticket, see :func:`ticket_outcomes`.
    """
    if label == "policy" and desk is None:
        raise ValueError("label='policy' needs an SLA desk configuration")
    if states is None:
        states = event_states(events)
    end = events["occurred_at"].max() if data_end is None else data_end
    moments = prediction_moments(states, data_end=end)
    rows = features_at(states, moments, tables=tables)
    rows["moment"] = moments["moment"].to_numpy()
    rows["first_moment"] = moments["first_moment"].to_numpy()

    # Clocks from the one SLA engine: features, and labels when asked.
    breached_at = None
    if desk is not None:
        history, calendars = clock_history_frame(desk, events)
        clocks = clocks_at(history, calendars, moments)
        sla = sla_features(clocks, len(moments))
        for column in SLA_FEATURES:
            rows[column] = sla[column].to_numpy()
        if label == "policy":
            breached_at = breach_instants(history, data_end=end)
    outcomes = ticket_outcomes(events, breached_at=breached_at)
    rows = rows.join(outcomes[["stalled", "outcome_at", "breached_at"]], on="ticket_id")
    before_breach = rows["breached_at"].isna() | (rows["at"] < rows["breached_at"])
    return rows[before_breach].reset_index(drop=True), outcomes


#: Events per part above which :func:`build_history_snapshots` builds a log
#: part by part. The clock replay holds every event of what it replays as a
#: Python record (about 1.5 kB each), so a whole ten-million-event history at
#: once would not fit in memory; a part of this size needs about 2 GB.
PART_EVENTS = 500_000


def usable_cores() -> int:
    """Return how many cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def build_history_snapshots(
    events: pd.DataFrame,
    *,
    desk: SlaDesk | None = None,
    label: Literal["source", "policy"] = "source",
    part_events: int = PART_EVENTS,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return :func:`build_snapshots` of a whole log, in parts if it is large.

    A log of more than ``part_events`` events is split by ticket
    (:func:`features.partition.ticket_partition`) into parts of about that
    size. A first pass adds up the desk-wide tables of every part; a second
    builds each part's rows against those tables and the whole log's end, so
    each row equals the one the whole log built at once gives (as on Dask,
    :mod:`training.distributed`), while memory holds the working sets of the
    parts being built only.

    Parameters
    ----------
    events, desk, label
        As in :func:`build_snapshots`.
    part_events : int
        Largest log built at once.
    workers : int, optional
        Processes building parts side by side (joblib's loky pool); by
        default one per usable core, 1 builds them in this process.

    Returns
    -------
    snapshots, outcomes
        As :func:`build_snapshots` returns them, except that rows come part
        after part (each part's in ticket and time order); outcomes are
        sorted by ticket.
    """
    if part_events < 1:
        raise ValueError(f"part_events must be at least 1, got {part_events}")
    n_parts = math.ceil(len(events) / part_events)
    if n_parts <= 1:
        return build_snapshots(events, desk=desk, label=label)
    part = ticket_partition(events["ticket_id"], n_parts)

    def parts() -> Iterator[pd.DataFrame]:
        for i in range(n_parts):
            some = events[part == i].reset_index(drop=True)
            if not some.empty:
                yield some

    tables = combine_desk_tables([desk_table_parts(event_states(p)) for p in parts()])
    end = events["occurred_at"].max()
    build = joblib.delayed(build_snapshots)
    jobs = (
        build(p, desk=desk, label=label, tables=tables, data_end=end) for p in parts()
    )
    # Parts are cut only as workers take them, so few are in memory at once;
    # the workers end a second after the last part, handing their memory back
    # before training starts (loky keeps idle workers 300 s by default).
    n_jobs = min(workers or usable_cores(), n_parts)
    with joblib.parallel_config(backend="loky", idle_worker_timeout=1):
        built = joblib.Parallel(n_jobs=n_jobs, pre_dispatch="n_jobs")(jobs)
    rows = pd.concat([b[0] for b in built], ignore_index=True)
    return rows, pd.concat([b[1] for b in built]).sort_index()
