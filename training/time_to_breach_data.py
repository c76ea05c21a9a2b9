"""Outcome times for the time-to-breach model, in the desk's business hours.

For each prediction moment: how many business hours until the ticket breaches
its SLA or is resolved, whichever comes first, or until what is known ends
(a training cut-off or the end of the data), where it is censored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.asof import event_states
from features.events import DONE_STATUSES
from features.sla.desk import SlaDesk

_NS = 1_000_000_000


def epoch_seconds(values: pd.Series) -> np.ndarray:
    """Return UTC instants as int64 epoch seconds (NaT must be filled first)."""
    utc = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return utc.astype("int64").to_numpy() // _NS


def business_hours(
    start: pd.Series,
    end: pd.Series,
    created: pd.Series,
    *,
    desk: SlaDesk | None,
) -> np.ndarray:
    """Return business hours from ``start`` to ``end`` in each ticket's calendar.

    Parameters
    ----------
    start, end : Series of UTC instants
        Aligned; no NaT.
    created : Series of UTC instants
        Each row's ticket creation; picks the calendar version in force then.
    desk : SlaDesk or None
        Without a desk, wall-clock hours.

    Returns
    -------
    ndarray of float
        Hours, negative where ``end`` precedes ``start``.
    """
    start_s, end_s = epoch_seconds(start), epoch_seconds(end)
    if desk is None:
        return (end_s - start_s) / 3600.0
    out = np.empty(len(start_s), dtype=float)
    versions = sorted(desk.calendars, key=lambda v: v.effective_from)
    created_s = epoch_seconds(created)
    # The version in force at creation; before the first, the first one.
    starts = np.array([int(v.effective_from.timestamp()) for v in versions])
    which = np.clip(np.searchsorted(starts, created_s, side="right") - 1, 0, None)
    for i, version in enumerate(versions):
        mine = which == i
        if mine.any():
            seconds = version.calendar.business_seconds_between_epoch(
                start_s[mine], end_s[mine]
            )
            out[mine] = np.asarray(seconds, dtype=float) / 3600.0
    return out


def resolution_instants(events: pd.DataFrame) -> pd.DataFrame:
    """Return every instant at which a ticket entered ``resolved`` or ``closed``.

    Returns
    -------
    DataFrame
        Columns ``ticket_id`` and ``resolved_at`` (UTC), sorted by instant.
    """
    states = event_states(events)
    done = states["status"].isin(list(DONE_STATUSES)).fillna(False).to_numpy()
    previous = pd.Series(done).groupby(states["ticket_id"].to_numpy()).shift(1)
    entered = done & ~previous.fillna(False).astype(bool).to_numpy()
    out = pd.DataFrame(
        {
            "ticket_id": states["ticket_id"].to_numpy()[entered],
            "resolved_at": pd.to_datetime(
                states["t_ns"].to_numpy()[entered].astype("int64"), utc=True
            ),
        }
    )
    return out.sort_values("resolved_at", kind="stable").reset_index(drop=True)


def outcome_times(
    snapshots: pd.DataFrame,
    resolutions: pd.DataFrame,
    created: pd.Series,
    *,
    desk: SlaDesk | None,
    censor_at: pd.Timestamp,
) -> pd.DataFrame:
    """Return each moment's business hours until breach or resolution.

    Parameters
    ----------
    snapshots : DataFrame
        From :func:`training.dataset.build_snapshots` (``ticket_id``, ``at``,
        ``breached_at``).
    resolutions : DataFrame
        From :func:`resolution_instants`.
    created : Series
        Ticket creation instants indexed by ticket id.
    desk : SlaDesk or None
        Business calendar; wall-clock hours without one.
    censor_at : Timestamp
        What is known: outcomes after it are censored there.

    Returns
    -------
    DataFrame
        Aligned with ``snapshots``: ``ttb_hours`` (business hours to the
        outcome, or to ``censor_at`` when censored), ``ttb_observed`` (bool)
        and ``ttb_kind`` (``"breach"``, ``"resolution"`` or ``""``).
    """
    moments = snapshots[["ticket_id", "at"]].copy()
    moments["_row"] = np.arange(len(moments))
    moments["at"] = moments["at"].astype("datetime64[ns, UTC]")
    moments["ticket_id"] = moments["ticket_id"].astype(str)
    resolved = resolutions.assign(
        ticket_id=resolutions["ticket_id"].astype(str),
        resolved_at=resolutions["resolved_at"].astype("datetime64[ns, UTC]"),
    )
    joined = pd.merge_asof(
        moments.sort_values("at", kind="stable"),
        resolved,
        left_on="at",
        right_on="resolved_at",
        by="ticket_id",
        direction="forward",
    ).sort_values("_row")
    resolved_at = joined["resolved_at"].reset_index(drop=True)
    breached_at = snapshots["breached_at"].astype("datetime64[ns, UTC]")
    breached_at = breached_at.reset_index(drop=True)

    far = pd.Timestamp.max.tz_localize("UTC").floor("s")
    first = pd.concat([breached_at.fillna(far), resolved_at.fillna(far)], axis=1)
    end = first.min(axis=1)
    observed = (end <= censor_at).to_numpy()
    is_breach = (breached_at.fillna(far) <= resolved_at.fillna(far)).to_numpy()
    kind = np.where(observed, np.where(is_breach, "breach", "resolution"), "")
    end = end.where(observed, censor_at)
    at = snapshots["at"].reset_index(drop=True)
    hours = business_hours(
        at,
        end,
        created.reindex(snapshots["ticket_id"]).reset_index(drop=True),
        desk=desk,
    )
    return pd.DataFrame(
        {"ttb_hours": hours, "ttb_observed": observed, "ttb_kind": kind},
        index=snapshots.index,
    )


#: Share of tickets, by creation, that open the extract's window (see below).
ENTRY_SHARE = 0.05


def window_start(created: pd.Series, share: float = ENTRY_SHARE) -> pd.Timestamp:
    """Return the instant from which moments enter training (delayed entry).

    A public log is a window cut out of a desk's history: tickets created long
    before it appear only because they were still running when it opened.
    Their early moments would teach that young tickets last for months. The
    hazard model therefore learns only from moments after the instant by
    which ``share`` of the tickets had been created; older tickets still
    enter there, with their age as a feature (left truncation).

    Parameters
    ----------
    created : Series of UTC instants
        Ticket creation instants.
    share : float
        Share of tickets created before the window opens.
    """
    return pd.Timestamp(created.quantile(share))
