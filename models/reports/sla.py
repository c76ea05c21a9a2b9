"""SLA compliance by target, from the one SLA engine and from the source's own flag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from features.events import EventKind
from features.sla.policy import TARGETS
from models.reports.common import ReportPeriod, is_done, known_states, ns


@dataclass(frozen=True)
class TargetCompliance:
    """How one SLA target fared for the tickets created in the period."""

    target: str
    met: int
    breached: int
    running: int
    rate: float | None


def sla_compliance(
    states: pd.DataFrame,
    events: pd.DataFrame,
    rows_at: Callable[[pd.DataFrame], pd.DataFrame],
    period: ReportPeriod,
) -> list[TargetCompliance]:
    """Return SLA compliance per target for the tickets created in the period.

    For each policy target (first response, next response, resolution) the
    ticket's latest clock of that target is read at ``as_of`` from the SLA
    engine: ``met`` or ``breached`` decide it, a running or paused clock
    counts as ``running`` and a ticket without that clock is left out.
    ``rate = met / (met + breached)``. The last row, ``source``, is the
    source's own flag: breached when the ticket has an ``sla_breached``
    event by ``as_of``, met when it was finished by then without one,
    running otherwise. With a group, only tickets whose group at ``as_of``
    (or when they finished) is that group count.
    """
    known = known_states(states, period.as_of)
    last = known.drop_duplicates("ticket_id", keep="last")
    created = last["created_ns"]
    last = last[(created >= ns(period.start)) & (created < ns(period.end))]
    if period.group is not None:
        last = last[last["group"] == period.group]
    tickets = last["ticket_id"].astype(str).tolist()

    out = []
    if tickets:
        moments = pd.DataFrame({"ticket_id": tickets, "at": pd.Timestamp(period.as_of)})
        clocks = rows_at(moments)["sla_clocks"]
    else:
        clocks = pd.Series([], dtype=object)
    for target in TARGETS:
        seen = [c.get(target, "none") for c in clocks if isinstance(c, dict)]
        out.append(_tally(target, seen))

    # The source's own verdict, from its breach events.
    breached_ids = events.loc[
        (events["kind"] == EventKind.SLA_BREACHED)
        & (events["occurred_at"] <= pd.Timestamp(period.as_of)),
        "ticket_id",
    ]
    breached = last["ticket_id"].isin(set(breached_ids))
    finished = is_done(last)
    verdicts = [
        "breached" if b else "met" if f else "running"
        for b, f in zip(breached, finished, strict=True)
    ]
    out.append(_tally("source", verdicts))
    return out


def _tally(target: str, states: list[str]) -> TargetCompliance:
    met = sum(s == "met" for s in states)
    breached = sum(s == "breached" for s in states)
    running = sum(s in ("running", "paused") for s in states)
    decided = met + breached
    return TargetCompliance(
        target=target,
        met=met,
        breached=breached,
        running=running,
        rate=round(met / decided, 4) if decided else None,
    )
