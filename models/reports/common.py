"""What every report shares: the period, the states known then, open counts.

A report looks at a period ``[start, end)`` as the store stood at ``as_of``
(the replay moment, never before ``end``): events after ``as_of`` do not
exist for it. Days and weeks are the desk calendar's local days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features.events import DONE_STATUSES

#: The label of a ticket attribute that was never set.
UNSET = "(not set)"


@dataclass(frozen=True)
class ReportPeriod:
    """The window a report covers and the moment it is seen from.

    ``start`` is inclusive, ``end`` exclusive; ``as_of`` is the knowledge
    cut-off (``as_of >= end``). ``group`` narrows the report to one group;
    ``zone`` is the IANA zone of the desk's days.
    """

    start: datetime
    end: datetime
    as_of: datetime
    group: str | None = None
    zone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("report instants must carry a zone")
        if not self.start < self.end:
            raise ValueError("the period's start must be before its end")
        if self.end > self.as_of:
            raise ValueError("the period may not end after the replay moment")


def ns(instant: datetime | pd.Timestamp) -> int:
    """Return an aware instant as integer nanoseconds since the epoch (UTC)."""
    return int(pd.Timestamp(instant).tz_convert("UTC").value)


def known_states(states: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Return the ticket states built from events at or before ``as_of``.

    States are cumulative, so the rows up to an instant are exactly what the
    events up to it produce.
    """
    return states[states["t_ns"] <= ns(as_of)]


def is_done(states: pd.DataFrame) -> pd.Series:
    """Return whether each state is finished: resolved, closed or merged."""
    done = states["status"].isin(list(DONE_STATUSES)).fillna(False)
    return done.astype(bool) | states["merged"].astype(bool)


def last_states_before(
    states: pd.DataFrame, instant_ns: int, *, inclusive: bool = False
) -> pd.DataFrame:
    """Return each ticket's last state before ``instant_ns`` (or at it, inclusive).

    ``t_ns`` is float64; whole-second instants of this era compare exactly.
    """
    t = states["t_ns"]
    before = states[(t <= instant_ns) if inclusive else (t < instant_ns)]
    return before.drop_duplicates("ticket_id", keep="last")


def open_changes(states: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Return +1 / -1 steps of the open-ticket count per value of ``by``.

    A ticket enters the count (``+1`` under its current ``by`` values) when it
    is open and was not, or when one of those values changes; it leaves
    (``-1`` under its previous values) at the same instants. Columns:
    ``t_ns``, each of ``by``, ``delta``; sorted by ``t_ns``.
    """
    keys = states[list(by)].astype(object).fillna(UNSET)
    is_open = ~is_done(states)
    ticket = states["ticket_id"]
    previous = keys.groupby(ticket.to_numpy()).shift(1)
    was_open = is_open.groupby(ticket.to_numpy()).shift(1)
    first = was_open.isna()
    was_open = was_open.fillna(False).astype(bool)
    same_keys = (keys == previous).all(axis=1)
    changed = first | (is_open != was_open) | ~same_keys

    leaving = changed & was_open & ~first
    joining = changed & is_open
    out = pd.concat(
        [
            previous[leaving].assign(t_ns=states.loc[leaving, "t_ns"], delta=-1),
            keys[joining].assign(t_ns=states.loc[joining, "t_ns"], delta=1),
        ],
        ignore_index=True,
    )
    return out.sort_values("t_ns", kind="stable").reset_index(drop=True)


def count_before(changes: pd.DataFrame, instants_ns: np.ndarray) -> np.ndarray:
    """Return the open count just before each instant from :func:`open_changes`."""
    if changes.empty:
        return np.zeros(len(instants_ns), dtype=int)
    total = changes["delta"].cumsum().to_numpy()
    index = np.searchsorted(changes["t_ns"].to_numpy(), instants_ns, side="left")
    return np.where(index > 0, total[np.maximum(index - 1, 0)], 0).astype(int)


def day_starts(period: ReportPeriod) -> list[pd.Timestamp]:
    """Return the local midnights of every day that overlaps the period."""
    zone = ZoneInfo(period.zone)
    first = pd.Timestamp(period.start).tz_convert(zone).normalize()
    last = pd.Timestamp(period.end).tz_convert(zone)
    days = pd.date_range(first, last, freq="D")
    return [d for d in days if d < last]


def week_starts(period: ReportPeriod) -> list[pd.Timestamp]:
    """Return the local Monday midnights of every week that overlaps the period."""
    days = day_starts(period)
    mondays = {d - pd.Timedelta(days=d.day_of_week) for d in days}
    return sorted(pd.Timestamp(m).normalize() for m in mondays)


def snapshot_instant(start: pd.Timestamp, length: str, period: ReportPeriod) -> int:
    """Return the end of a day or week starting at ``start``, capped at ``end``.

    ``length`` is ``"day"`` or ``"week"``; the end is the next local midnight.
    """
    days = 1 if length == "day" else 7
    after = (start + pd.DateOffset(days=days)).normalize()
    return min(ns(after), ns(period.end))
