"""SLA clocks of many tickets at many moments: one replay each, then arrays.

:func:`clock_history_frame` replays every ticket once with the clock engine and
keeps each clock's state after every event instant. :func:`clocks_at` joins any
(ticket, moment) pairs to the last such state and rolls open clocks forward to
the moment with :func:`features.sla.batch.compute_clock_batch`. Training
(many moments), the backlog ("now") and the labels all read clocks this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.sla.batch import NO_INSTANT, ClockBatchInput, compute_clock_batch
from features.sla.calendar import BusinessCalendar
from features.sla.clocks import clock_history, last_event_clocks
from features.sla.desk import SlaDesk
from features.sla.model import ClockResult, SlaEvent
from features.sla.policy import TARGETS, SlaPolicy, Target

#: Columns of the clock history, one row per ticket, event instant and target.
HISTORY_COLUMNS = (
    "ticket_id",
    "t_s",
    "target",
    "state",
    "elapsed_s",
    "target_s",
    "due_s",
    "open",
    "segment_start",
    "elapsed_before",
    "paused",
    "reached_at",
    "warn_at",
    "calendar",
)
_NONE = NO_INSTANT
#: Column types of the history, so that an empty one joins like a full one.
_HISTORY_TYPES = {
    "ticket_id": "object",
    "t_s": "int64",
    "target": "object",
    "state": "object",
    "elapsed_s": "float64",
    "target_s": "float64",
    "due_s": "int64",
    "open": "bool",
    "segment_start": "int64",
    "elapsed_before": "int64",
    "paused": "bool",
    "reached_at": "int64",
    "warn_at": "float64",
    "calendar": "object",
}


def clock_history_frame(
    desk: SlaDesk, events: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, BusinessCalendar]]:
    """Replay every ticket once and tabulate its clocks after each instant.

    Parameters
    ----------
    desk : SlaDesk
        Calendars and policies.
    events : DataFrame
        Canonical events sorted by ticket, time and sequence.

    Returns
    -------
    history : DataFrame
        Columns :data:`HISTORY_COLUMNS`; times in UTC epoch seconds, ``-1``
        where there is none; durations in business seconds.
    calendars : dict
        The calendars used, by version.
    """
    records = _records(events)
    tickets = events["ticket_id"].to_numpy()
    bounds = np.flatnonzero(tickets[1:] != tickets[:-1]) + 1
    starts = np.concatenate([[0], bounds]) if len(records) else np.array([], int)
    ends = np.concatenate([bounds, [len(records)]]) if len(records) else starts

    rows: list[tuple[object, ...]] = []
    calendars: dict[str, BusinessCalendar] = {}
    for a, b in zip(starts, ends, strict=True):
        calendar = ticket_history(desk, records[a:b], rows)
        calendars[calendar.version] = calendar
    history = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)).astype(_HISTORY_TYPES)
    return history, calendars


def _records(events: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the events as one dict per row: plain Python values, None for NA.

    Built column by column (pandas' ``to_dict`` boxes every value on its own,
    which was an eighth of a whole replay).
    """
    columns = {
        name: events[name].to_numpy(dtype=object, na_value=None)
        for name in events.columns
        if name != "occurred_at"
    }
    columns["occurred_at"] = np.asarray(events["occurred_at"].dt.to_pydatetime())
    names = list(columns)
    return [
        dict(zip(names, row, strict=True))
        for row in zip(*columns.values(), strict=True)
    ]


def ticket_history(
    desk: SlaDesk,
    ticket: Sequence[Mapping[str, Any]],
    rows: list[tuple[object, ...]],
    *,
    until: int | None = None,
) -> BusinessCalendar:
    """Replay one ticket and append its rows of :data:`HISTORY_COLUMNS` to ``rows``.

    Parameters
    ----------
    desk : SlaDesk
        Calendars and policies.
    ticket : sequence of mapping
        One ticket's canonical events as records, in time and sequence order.
    rows : list of tuple
        Where the history rows go, one per event instant and target.
    until : int, optional
        UTC epoch seconds: keep only the last instant at or before it (the
        row :func:`clocks_at` would join), replaying no later event.

    Returns
    -------
    BusinessCalendar
        The calendar the ticket's clocks use.
    """
    created = pd.Timestamp(ticket[0]["occurred_at"]).to_pydatetime()
    calendar = desk.calendar_at(created)
    policy, sla_events = desk.sla_events(ticket)
    warn = policy.warn_at_fraction
    entries = (
        clock_history(calendar=calendar, policy=policy, events=sla_events)
        if until is None
        else _last_entry(calendar, policy, sla_events, until)
    )
    for t, clocks in entries:
        for target in TARGETS:
            c = clocks[target]
            snap = c.snapshot
            rows.append(
                (
                    ticket[0]["ticket_id"],
                    t,
                    target,
                    c.state,
                    -1 if c.elapsed_minutes is None else c.elapsed_minutes * 60,
                    -1 if c.target_minutes is None else c.target_minutes * 60,
                    _NONE if c.due is None else int(c.due.timestamp()),
                    snap is not None,
                    _NONE if snap is None else snap.segment_start,
                    0 if snap is None else snap.elapsed_before_seconds,
                    False if snap is None else snap.paused,
                    _NONE
                    if snap is None or snap.reached_at is None
                    else snap.reached_at,
                    np.nan if warn is None else warn,
                    calendar.version,
                )
            )
    return calendar


def _last_entry(
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    events: Sequence[SlaEvent],
    until: int,
) -> list[tuple[int, dict[Target, ClockResult]]]:
    """Return the last entry of :func:`clock_history` at or before ``until``."""
    entry = last_event_clocks(
        calendar=calendar, policy=policy, events=events, until=until
    )
    return [] if entry is None else [entry]


def lookup_history(history: pd.DataFrame) -> pd.DataFrame:
    """Return ``history`` as :func:`clocks_at` looks it up: by time, ids as strings.

    A history already in that form is returned as it is, so a caller that
    looks up many moments (the service, once per store change) prepares it once.
    """
    typed = all(
        isinstance(history[c].dtype, pd.StringDtype) for c in ("ticket_id", "target")
    )
    if not typed:
        history = history.assign(
            ticket_id=history["ticket_id"].astype("string"),
            target=history["target"].astype("string"),
        )
    if not history["t_s"].is_monotonic_increasing:
        history = history.sort_values("t_s", kind="stable")
    return history


def clocks_at(
    history: pd.DataFrame,
    calendars: dict[str, BusinessCalendar],
    moments: pd.DataFrame,
) -> pd.DataFrame:
    """Return every clock of each (ticket, moment) pair.

    Parameters
    ----------
    history, calendars : see :func:`clock_history_frame`.
    moments : DataFrame
        Columns ``ticket_id`` and ``at`` (UTC instants).

    Returns
    -------
    DataFrame
        One row per moment and target (moments before a ticket's first event
        are left out): ``ticket_id``, ``at``, ``order`` (position in
        ``moments``), ``target``, ``state``, ``elapsed_minutes``,
        ``remaining_minutes``, ``target_minutes``, ``due`` (UTC, NaT if none),
        ``breached``, ``warning``, ``paused``.
    """
    asked = pd.DataFrame(
        {
            "ticket_id": moments["ticket_id"].astype("string").reset_index(drop=True),
            "at_s": pd.to_datetime(moments["at"], utc=True)
            .astype("datetime64[ns, UTC]")
            .astype("int64")
            .to_numpy()
            // 1_000_000_000,
            "order": np.arange(len(moments)),
        }
    )
    targets = pd.DataFrame({"target": pd.array(list(TARGETS), dtype="string")})
    asked = asked.merge(targets, how="cross")
    rows = pd.merge_asof(
        asked.sort_values("at_s", kind="stable"),
        lookup_history(history),
        left_on="at_s",
        right_on="t_s",
        by=["ticket_id", "target"],
        direction="backward",
    ).dropna(subset=["t_s"])
    rows = rows.reset_index(drop=True)

    # Stopped clocks keep their values; open ones roll forward to the moment.
    elapsed = np.array(rows["elapsed_s"], dtype=float)
    due = np.array(rows["due_s"], dtype="int64")
    state = np.array(rows["state"], dtype=object)
    warning = np.zeros(len(rows), dtype=bool)
    is_open = rows["open"].to_numpy(dtype=bool)
    for version, calendar in calendars.items():
        pick = is_open & (rows["calendar"].to_numpy() == version)
        if not pick.any():
            continue
        part = rows[pick]
        batch = compute_clock_batch(
            calendar=calendar,
            clocks=ClockBatchInput.from_arrays(
                segment_start=part["segment_start"].to_numpy(dtype="int64"),
                elapsed_before_seconds=part["elapsed_before"].to_numpy(dtype="int64"),
                paused=part["paused"].to_numpy(dtype=bool),
                target_seconds=part["target_s"].to_numpy(dtype="int64"),
                reached_at=part["reached_at"].to_numpy(dtype="int64"),
            ),
            at=part["at_s"].to_numpy(dtype="int64"),
            warn_at_fraction=part["warn_at"].to_numpy(dtype=float),
        )
        elapsed[pick] = batch.elapsed_minutes * 60
        due_batch = batch.due.astype("int64")
        due[pick] = np.where(np.isnat(batch.due), _NONE, due_batch)
        state[pick] = batch.state
        warning[pick] = batch.warning

    has_target = rows["target_s"].to_numpy(dtype=float) >= 0
    target_min = np.where(has_target, rows["target_s"] / 60, np.nan)
    elapsed_min = np.where(has_target, elapsed / 60, np.nan)
    due_times = pd.to_datetime(np.where(due == _NONE, np.nan, due * 1.0), unit="s")
    return pd.DataFrame(
        {
            "ticket_id": rows["ticket_id"],
            "at": pd.to_datetime(rows["at_s"], unit="s", utc=True),
            "order": rows["order"],
            "target": rows["target"],
            "state": state.astype(str),
            "elapsed_minutes": elapsed_min,
            "remaining_minutes": target_min - elapsed_min,
            "target_minutes": target_min,
            "due": due_times.tz_localize("UTC"),
            "breached": state == "breached",
            "warning": warning,
            "paused": state == "paused",
        }
    )
