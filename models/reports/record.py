"""The model's own record: of the tickets the list flagged, how many did stall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.events import EventKind
from models.escalation import rank
from models.reports.common import (
    ReportPeriod,
    day_starts,
    is_done,
    known_states,
    last_states_before,
    ns,
)
from models.scorer import StallScorer

#: Local time of the daily review at which the list is read.
REVIEW_HOUR = 9
#: The most recent review days a record looks at.
MAX_REVIEWS = 14


@dataclass(frozen=True)
class FlagRecord:
    """What became of the tickets first shown with one flag."""

    flag: str
    tickets: int
    stalled: int
    not_stalled: int
    still_open: int
    stall_rate: float | None


@dataclass(frozen=True)
class ModelRecord:
    """The list's record over the period's daily reviews."""

    reviews: list[str]
    model_version: str | None
    flags: list[FlagRecord]


def model_record(
    states: pd.DataFrame,
    events: pd.DataFrame,
    rows_at: Callable[[pd.DataFrame], pd.DataFrame],
    scorer: StallScorer | None,
    period: ReportPeriod,
) -> ModelRecord:
    """Replay the daily reviews of the period and follow each ticket's outcome.

    The list is ranked, as ``/v1/escalations`` ranks it, at 09:00 local time
    of each day of the period (the last :data:`MAX_REVIEWS` days). A ticket
    counts once, under the most urgent flag it was ever shown with (red, then
    amber, then green), from the first review that showed it so. Reviews at
    which the source had already marked its SLA breached leave it out, since
    the outcome was known. It **stalled** when the source marks its SLA
    breached (an ``sla_breached`` event) after that review and by
    ``as_of``; it did **not stall** when it was finished by ``as_of``
    without one; otherwise it is **still open**. ``stall_rate = stalled /
    (stalled + not_stalled)``. With a group, only tickets in that group at a
    review count.
    """
    known = known_states(states, period.as_of)
    reviews = [d + pd.Timedelta(hours=REVIEW_HOUR) for d in day_starts(period)]
    reviews = [r for r in reviews if period.start <= r < period.end][-MAX_REVIEWS:]
    moments = []
    for review in reviews:
        last = last_states_before(known, ns(review), inclusive=True)
        last = last[~is_done(last)]
        if period.group is not None:
            last = last[last["group"] == period.group]
        moments.append(pd.DataFrame({"ticket_id": last["ticket_id"], "at": review}))
    flags = {"red": 0, "amber": 1, "green": 2}
    first_seen: dict[str, tuple[int, pd.Timestamp]] = {}
    if moments and sum(len(m) for m in moments):
        rows = rows_at(pd.concat(moments, ignore_index=True))
        rows = rows[~rows["breached"].astype(bool)].reset_index(drop=True)
        probability = bands = None
        if scorer is not None and not rows.empty:
            probability = scorer.probabilities(rows)
            bands = scorer.bundle.band(probability)
        for at, part in rows.groupby("at", sort=True):
            index = part.index.to_numpy()
            _, why = rank(
                part.reset_index(drop=True),
                None if probability is None else probability[index],
                None if bands is None else np.asarray(bands)[index],
            )
            for ticket, reason in zip(part["ticket_id"], why, strict=True):
                level = flags[reason.flag]
                seen = first_seen.get(str(ticket))
                if seen is None or level < seen[0]:
                    first_seen[str(ticket)] = (level, pd.Timestamp(at))

    outcome = _outcomes(known, events, first_seen, period)
    records = []
    for name, level in flags.items():
        mine = [outcome[t] for t, (lv, _) in first_seen.items() if lv == level]
        stalled, fine = mine.count("stalled"), mine.count("not_stalled")
        records.append(
            FlagRecord(
                flag=name,
                tickets=len(mine),
                stalled=stalled,
                not_stalled=fine,
                still_open=mine.count("still_open"),
                stall_rate=round(stalled / (stalled + fine), 4)
                if stalled + fine
                else None,
            )
        )
    return ModelRecord(
        reviews=[r.isoformat() for r in reviews],
        model_version=None if scorer is None else scorer.version,
        flags=records,
    )


def _outcomes(
    known: pd.DataFrame,
    events: pd.DataFrame,
    first_seen: dict[str, tuple[int, pd.Timestamp]],
    period: ReportPeriod,
) -> dict[str, str]:
    """Return stalled / not_stalled / still_open for each followed ticket."""
    breaches = events[
        (events["kind"] == EventKind.SLA_BREACHED)
        & (events["occurred_at"] <= pd.Timestamp(period.as_of))
    ]
    first_breach = breaches.groupby("ticket_id")["occurred_at"].min()
    final = known.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
    finished = is_done(final)
    out = {}
    for ticket, (_, seen_at) in first_seen.items():
        breach = first_breach.get(ticket)
        if breach is not None and breach > seen_at:
            out[ticket] = "stalled"
        elif bool(finished.get(ticket, False)):
            out[ticket] = "not_stalled"
        else:
            out[ticket] = "still_open"
    return out
