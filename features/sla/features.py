"""SLA features and breach instants derived from the clock engine's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sla.policy import TARGETS

#: Model features read off the clocks, as of each moment.
SLA_FEATURES = (
    *(f"sla_{t}_used" for t in TARGETS),
    "sla_minutes_to_due",
    "sla_breached_clocks",
    "sla_paused",
)


def sla_features(clocks: pd.DataFrame, n_moments: int) -> pd.DataFrame:
    """Pivot clock rows into one feature row per moment.

    Parameters
    ----------
    clocks : DataFrame
        Output of :func:`features.sla.table.clocks_at`.
    n_moments : int
        Number of moments asked for; rows are indexed ``0 .. n_moments - 1``.

    Returns
    -------
    DataFrame
        Columns :data:`SLA_FEATURES`: share of each target used (NaN with no
        clock), business minutes to the nearest due instant of a running,
        unbreached clock (NaN when none runs), how many clocks are breached,
        and whether the clocks are paused (1.0 / 0.0).
    """
    out = pd.DataFrame(index=pd.RangeIndex(n_moments))
    used = clocks["elapsed_minutes"] / clocks["target_minutes"]
    for target in TARGETS:
        mine = clocks["target"] == target
        series = pd.Series(used[mine].to_numpy(), index=clocks.loc[mine, "order"])
        out[f"sla_{target}_used"] = series.reindex(out.index).astype(float)

    running = (clocks["state"] == "running").to_numpy()
    remaining = clocks["remaining_minutes"].where(running)
    out["sla_minutes_to_due"] = (
        remaining.groupby(clocks["order"]).min().reindex(out.index).astype(float)
    )
    out["sla_breached_clocks"] = (
        (clocks["breached"].groupby(clocks["order"]).sum().reindex(out.index))
        .fillna(0.0)
        .astype(float)
    )
    out["sla_paused"] = (
        (clocks["paused"].groupby(clocks["order"]).any().reindex(out.index))
        .fillna(False)
        .astype(float)
    )
    return out


def breach_instants(history: pd.DataFrame, *, data_end: pd.Timestamp) -> pd.Series:
    """Return when each ticket first breached a clock, as seen by ``data_end``.

    A clock breaches at its due instant, whether an event showed it later or
    it was still running, unstopped, when the data ends.

    Returns
    -------
    Series
        UTC instants indexed by ticket id; tickets that never breached are
        absent.
    """
    end_s = int(data_end.timestamp())
    due = history["due_s"].to_numpy(dtype="int64")
    breached = history["state"].to_numpy() == "breached"
    running_past_due = (
        history["open"].to_numpy(dtype=bool)
        & ~history["paused"].to_numpy(dtype=bool)
        & (due >= 0)
        & (due <= end_s)
    )
    # A running clock's due can still move only by a pause, which the next
    # history row would show; the last row of each clock is what counts.
    last = ~history.duplicated(["ticket_id", "target"], keep="last").to_numpy()
    hit = breached | (running_past_due & last)
    instants = pd.Series(np.where(hit, due, np.iinfo(np.int64).max))
    first = instants.groupby(history["ticket_id"].to_numpy()).min()
    first = first[first < np.iinfo(np.int64).max]
    return pd.to_datetime(first, unit="s", utc=True)
