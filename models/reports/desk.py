"""Reports on the desk's flow: backlog, open age, weekly categories, FCR, hand-offs.

Every function reads the cumulative ticket states of
:func:`features.asof.event_states` and the stored events, limited to what was
known at the period's ``as_of``. Definitions are in each docstring and in the
README section "The manager's page".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.events import DONE_STATUSES, EventKind
from features.sla.desk import SlaDesk
from models.reports.common import (
    UNSET,
    ReportPeriod,
    count_before,
    day_starts,
    is_done,
    known_states,
    last_states_before,
    ns,
    open_changes,
    snapshot_instant,
    week_starts,
)

#: Upper edges of the open-age buckets, in business hours.
AGE_EDGES_HOURS = (8, 24, 72, 168, 336, 672)


@dataclass(frozen=True)
class OpenAge:
    """Open tickets just before the period's end and their business age."""

    open_tickets: int
    mean_business_hours: float | None
    median_business_hours: float | None
    p90_business_hours: float | None
    buckets: list[tuple[str, int]]


@dataclass(frozen=True)
class Fcr:
    """First-contact resolution of the tickets first resolved in the period."""

    resolved: int
    first_contact: int
    rate: float | None
    with_handoff: int
    reopened: int
    several_replies: int


@dataclass(frozen=True)
class HandoffMatrix:
    """Hand-offs between groups in the period, and the ping-pong among them."""

    groups: list[str]
    counts: list[list[int]]
    total: int
    returns: int
    ping_pong_tickets: list[tuple[str, int]] = field(default_factory=list)


def backlog_per_day(states: pd.DataFrame, period: ReportPeriod) -> list[tuple]:
    """Count tickets open at the end of each day of the period.

    A ticket is open at an instant when its state just before it (every event
    strictly earlier) is neither resolved, closed nor merged. The day's
    count is taken at the next local midnight, or at the period's end for the
    last, partial day. With a group, only tickets with that group then count.

    Returns a list of ``(day as ISO date, open tickets)``.
    """
    changes = _changes(states, period, ("group",))
    days = day_starts(period)
    instants = np.array([snapshot_instant(d, "day", period) for d in days])
    counts = count_before(changes, instants)
    return [(d.date().isoformat(), int(n)) for d, n in zip(days, counts, strict=True)]


def weekly_open_by_category(
    states: pd.DataFrame, period: ReportPeriod, *, top: int = 8
) -> tuple[list[str], list[str], list[list[int]]]:
    """Count open tickets by category at the end of each week of the period.

    Weeks start on local Mondays; each count is taken like
    :func:`backlog_per_day` at the week's end (the next Monday midnight) or
    at the period's end, whichever is first. The ``top`` categories by total
    count keep their name, the rest add up as "other categories".

    Returns ``(week starts as ISO dates, categories, counts[category][week])``.
    """
    changes = _changes(states, period, ("group", "category"))
    weeks = week_starts(period)
    instants = np.array([snapshot_instant(w, "week", period) for w in weeks])
    per_category = {
        str(name): count_before(part, instants)
        for name, part in changes.groupby("category", sort=True)
    }
    ranked = sorted(per_category, key=lambda c: (-int(per_category[c].sum()), c))
    kept = ranked[:top]
    series = [[int(v) for v in per_category[c]] for c in kept]
    rest = [per_category[c] for c in ranked[top:]]
    if rest:
        kept.append("other categories")
        series.append([int(v) for v in np.sum(rest, axis=0)])
    return [w.date().isoformat() for w in weeks], kept, series


def open_age(states: pd.DataFrame, desk: SlaDesk, period: ReportPeriod) -> OpenAge:
    """Return the business age of the tickets open just before the period's end.

    Age is business time from the ticket's first event to the period's end,
    on the calendar in force when the ticket was created (the one its SLA
    clocks use). Buckets have the upper edges :data:`AGE_EDGES_HOURS`.
    """
    end_ns = ns(period.end)
    last = last_states_before(known_states(states, period.as_of), end_ns)
    last = last[~is_done(last)]
    if period.group is not None:
        last = last[last["group"] == period.group]
    created_s = (last["created_ns"].to_numpy(dtype="int64")) // 1_000_000_000
    end_s = end_ns // 1_000_000_000
    hours = np.zeros(len(last))
    versions = [
        desk.calendar_at(pd.Timestamp(c, unit="s", tz="UTC")) for c in created_s
    ]
    for calendar in {c.version: c for c in versions}.values():
        pick = np.array([v.version == calendar.version for v in versions], dtype=bool)
        seconds = calendar.business_seconds_between_epoch(
            created_s[pick], np.full(pick.sum(), end_s)
        )
        hours[pick] = np.asarray(seconds) / 3600
    labels = _bucket_labels()
    index = np.searchsorted(np.array(AGE_EDGES_HOURS), hours, side="right")
    counts = np.bincount(index, minlength=len(labels))
    if not len(hours):
        return OpenAge(0, None, None, None, [(lab, 0) for lab in labels])
    return OpenAge(
        open_tickets=len(hours),
        mean_business_hours=round(float(hours.mean()), 2),
        median_business_hours=round(float(np.median(hours)), 2),
        p90_business_hours=round(float(np.quantile(hours, 0.9)), 2),
        buckets=[(lab, int(n)) for lab, n in zip(labels, counts, strict=True)],
    )


def first_contact_resolution(
    states: pd.DataFrame, events: pd.DataFrame, period: ReportPeriod
) -> Fcr:
    """Return first-contact resolution of the tickets first resolved in the period.

    A ticket counts when its first resolved or closed state (not a merge)
    falls in ``[start, end)``; its group is the one it had then. It was
    resolved at first contact when, up to that resolution, its group never
    changed (no hand-off) and it had at most one ``agent_reply`` event, and
    no ``reopened`` event followed up to ``as_of``.
    """
    known = known_states(states, period.as_of)
    done = known["status"].isin(list(DONE_STATUSES)).fillna(False).astype(bool)
    first = known[done].drop_duplicates("ticket_id", keep="first")
    first = first[~first["merged"].astype(bool)]
    first = first[
        (first["t_ns"] >= ns(period.start)) & (first["t_ns"] < ns(period.end))
    ]
    if period.group is not None:
        first = first[first["group"] == period.group]
    resolved_at = first.set_index("ticket_id")["t_ns"]

    # Replies before and reopens after each ticket's first resolution.
    mine = events[events["ticket_id"].isin(resolved_at.index)]
    mine = mine[mine["occurred_at"] <= pd.Timestamp(period.as_of)]
    t = mine["occurred_at"].astype("datetime64[ns, UTC]").astype("int64")
    cut = mine["ticket_id"].map(resolved_at).astype("int64")
    replies = (mine["kind"] == EventKind.AGENT_REPLY) & (t <= cut)
    reopens = (mine["kind"] == EventKind.REOPENED) & (t > cut)
    n_replies = replies.groupby(mine["ticket_id"]).sum()
    n_reopens = reopens.groupby(mine["ticket_id"]).sum()

    handoff = first.set_index("ticket_id")["handoffs"] > 0
    reopened = n_reopens.reindex(handoff.index, fill_value=0) > 0
    several = n_replies.reindex(handoff.index, fill_value=0) > 1
    fcr = ~(handoff | reopened | several)
    total = len(first)
    return Fcr(
        resolved=total,
        first_contact=int(fcr.sum()),
        rate=round(float(fcr.mean()), 4) if total else None,
        with_handoff=int(handoff.sum()),
        reopened=int(reopened.sum()),
        several_replies=int(several.sum()),
    )


def handoff_matrix(
    events: pd.DataFrame, period: ReportPeriod, *, top: int = 10
) -> HandoffMatrix:
    """Count hand-offs from group to group in the period.

    A hand-off is an event that changes a ticket's group from one set group
    to another, as in the features (two events at one instant can hand a
    ticket on, as when a dispatcher routes it on creation). It is a return
    (ping-pong) when the ticket had been with the receiving group before.
    With a group, only hand-offs from or to it count. The ``top`` groups by
    hand-offs keep their name; the rest are "other groups".
    """
    known = events[events["occurred_at"] <= pd.Timestamp(period.as_of)]
    ticket = known["ticket_id"].to_numpy()
    group = known["group"].groupby(ticket).ffill()
    previous = group.groupby(ticket).shift(1)
    handoff = group.notna() & previous.notna() & (group != previous)
    held = known.assign(_g=group).duplicated(["ticket_id", "_g"]) & group.notna()
    t = known["occurred_at"]
    inside = (t >= pd.Timestamp(period.start)) & (t < pd.Timestamp(period.end))
    pick = (handoff & inside).fillna(False).astype(bool)
    moves = pd.DataFrame(
        {
            "ticket_id": known.loc[pick, "ticket_id"],
            "source": previous[pick].astype(str),
            "target": group[pick].astype(str),
            "back": held[pick],
        }
    )
    if period.group is not None:
        mine = (moves["source"] == period.group) | (moves["target"] == period.group)
        moves = moves[mine]
    volume = pd.concat([moves["source"], moves["target"]]).value_counts()
    names = sorted(volume.index[:top], key=lambda g: (-int(volume[g]), g))
    other = "other groups"
    source = moves["source"].where(moves["source"].isin(names), other)
    target = moves["target"].where(moves["target"].isin(names), other)
    if len(volume) > top:
        names.append(other)
    table = pd.crosstab(source, target).reindex(index=names, columns=names)
    ping = moves[moves["back"]].groupby("ticket_id").size().sort_values(ascending=False)
    return HandoffMatrix(
        groups=names,
        counts=table.fillna(0).astype(int).to_numpy().tolist(),
        total=len(moves),
        returns=int(moves["back"].sum()),
        ping_pong_tickets=[(str(t), int(n)) for t, n in ping.head(10).items()],
    )


def _changes(
    states: pd.DataFrame, period: ReportPeriod, by: tuple[str, ...]
) -> pd.DataFrame:
    changes = open_changes(known_states(states, period.as_of), by)
    if period.group is not None:
        changes = changes[changes["group"] == period.group]
    return changes


def _bucket_labels() -> list[str]:
    edges = AGE_EDGES_HOURS
    labels = [f"under {edges[0]} h"]
    labels += [f"{a}–{b} h" for a, b in itertools.pairwise(edges)]
    return [*labels, f"{edges[-1]} h or more"]


__all__ = [
    "AGE_EDGES_HOURS",
    "UNSET",
    "Fcr",
    "HandoffMatrix",
    "OpenAge",
    "backlog_per_day",
    "first_contact_resolution",
    "handoff_matrix",
    "open_age",
    "weekly_open_by_category",
]
