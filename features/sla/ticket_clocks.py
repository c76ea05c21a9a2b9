"""One ticket's SLA clocks and SLA features at a moment, without data frames.

The per-request twin of :func:`features.sla.table.clocks_at` and
:func:`features.sla.features.sla_features`: the same replay
(:func:`features.sla.table.ticket_history`) and the same roll-forward
(:func:`features.sla.batch.compute_clock_batch`), on one ticket's three
clocks, returned as plain dictionaries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from features.sla.batch import NO_INSTANT, ClockBatchInput, compute_clock_batch
from features.sla.calendar import to_epoch
from features.sla.desk import SlaDesk
from features.sla.policy import TARGETS
from features.sla.table import HISTORY_COLUMNS, ticket_history

_NAN = float("nan")


def ticket_clocks(
    desk: SlaDesk, events: Sequence[Mapping[str, Any]], at: datetime
) -> list[dict[str, Any]]:
    """Return each SLA clock of one ticket as of ``at``.

    Parameters
    ----------
    desk : SlaDesk
        Calendars and policies.
    events : sequence of mapping
        The ticket's canonical events as records, in time and sequence order.
    at : datetime
        Aware moment.

    Returns
    -------
    list of dict
        One per target, in :data:`features.sla.policy.TARGETS` order, with the
        columns of :func:`features.sla.table.clocks_at` (``target``, ``state``,
        ``elapsed_minutes``, ``remaining_minutes``, ``target_minutes``, ``due``,
        ``breached``, ``warning``, ``paused``); empty when the ticket has no
        event at or before ``at``.
    """
    rows: list[tuple[object, ...]] = []
    at_s = to_epoch(at)
    calendar = ticket_history(desk, events, rows, until=at_s)
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        record = dict(zip(HISTORY_COLUMNS, row, strict=True))
        if int(record["t_s"]) <= at_s:  # type: ignore[call-overload]
            latest[str(record["target"])] = record
    if not latest:
        return []
    chosen = [latest[target] for target in TARGETS]

    # Stopped clocks keep their values; open ones roll forward to the moment.
    elapsed = [float(c["elapsed_s"]) for c in chosen]
    due = [int(c["due_s"]) for c in chosen]
    state = [str(c["state"]) for c in chosen]
    warning = [False] * len(chosen)
    pick = [i for i, c in enumerate(chosen) if c["open"]]
    if pick:
        part = [chosen[i] for i in pick]
        batch = compute_clock_batch(
            calendar=calendar,
            clocks=ClockBatchInput.from_arrays(
                segment_start=np.array([c["segment_start"] for c in part], "int64"),
                elapsed_before_seconds=np.array(
                    [c["elapsed_before"] for c in part], "int64"
                ),
                paused=np.array([c["paused"] for c in part], dtype=bool),
                target_seconds=np.array([c["target_s"] for c in part], "int64"),
                reached_at=np.array([c["reached_at"] for c in part], "int64"),
            ),
            at=np.full(len(part), at_s, dtype="int64"),
            warn_at_fraction=np.array([c["warn_at"] for c in part], dtype=float),
        )
        for j, i in enumerate(pick):
            elapsed[i] = float(batch.elapsed_minutes[j]) * 60
            d = batch.due[j]
            due[i] = NO_INSTANT if np.isnat(d) else int(d.astype("int64"))
            state[i] = str(batch.state[j])
            warning[i] = bool(batch.warning[j])

    out = []
    for i, c in enumerate(chosen):
        has_target = float(c["target_s"]) >= 0
        target_min = float(c["target_s"]) / 60 if has_target else _NAN
        elapsed_min = elapsed[i] / 60 if has_target else _NAN
        out.append(
            {
                "target": c["target"],
                "state": state[i],
                "elapsed_minutes": elapsed_min,
                "remaining_minutes": target_min - elapsed_min,
                "target_minutes": target_min,
                "due": pd.NaT
                if due[i] == NO_INSTANT
                else pd.Timestamp(due[i], unit="s", tz="UTC"),
                "breached": state[i] == "breached",
                "warning": warning[i],
                "paused": state[i] == "paused",
            }
        )
    return out


def ticket_sla_features(clocks: list[dict[str, Any]]) -> dict[str, float]:
    """Return the :data:`features.sla.features.SLA_FEATURES` of one moment.

    Parameters
    ----------
    clocks : list of dict
        Output of :func:`ticket_clocks`.

    Returns
    -------
    dict
        As one row of :func:`features.sla.features.sla_features`.
    """
    out = {f"sla_{t}_used": _NAN for t in TARGETS}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in clocks:
            used = np.float64(c["elapsed_minutes"]) / np.float64(c["target_minutes"])
            out[f"sla_{c['target']}_used"] = float(used)
    remaining = [
        c["remaining_minutes"]
        for c in clocks
        if c["state"] == "running" and not math.isnan(c["remaining_minutes"])
    ]
    out["sla_minutes_to_due"] = min(remaining) if remaining else _NAN
    out["sla_breached_clocks"] = float(sum(c["breached"] for c in clocks))
    out["sla_paused"] = float(any(c["paused"] for c in clocks))
    return out
