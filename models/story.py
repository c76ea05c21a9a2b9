"""A ticket's story and the live details the manager's list shows beside a rank.

:func:`ticket_story` gathers one ticket's events (before and after a moment),
the groups it passed through, and its stall score at every event instant.
:func:`list_details` adds, for the tickets on a page of the list, the owner
and the SLA countdown in business minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from features.asof import STATE_COLUMNS
from models.reasons import Reason
from models.service import NotYetOpenError, StallService, UnknownTicketError

#: The most recent event instants whose stall score the story shows.
MAX_SCORED_MOMENTS = 60

_EVENT_FIELDS = (
    "kind",
    "actor",
    "actor_role",
    "group",
    "assignee",
    "status",
    "priority",
    "channel",
    "category",
    "subcategory",
    "topic",
)


@dataclass(frozen=True)
class ListDetail:
    """What the list shows about a ticket beside its rank."""

    owner: str | None
    minutes_to_due: float | None
    paused: bool
    breached_since: datetime | None
    paused_minutes_left: float | None = None


@dataclass(frozen=True)
class StoryEvent:
    """One event of a ticket, as recorded."""

    occurred_at: datetime
    fields: dict[str, str | None]
    after_moment: bool


@dataclass(frozen=True)
class ScorePoint:
    """The ticket's stall score just after an event instant."""

    at: datetime
    probability: float
    band: str
    reasons: list[Reason]


@dataclass(frozen=True)
class Story:
    """Everything the story page draws for one ticket.

    ``state`` is the ticket as of ``at``: each attribute's last known value,
    folded over every event so far as the escalation list folds it (an event
    carries only the fields that changed).
    """

    ticket_id: str
    at: datetime
    state: dict[str, str | None]
    events: list[StoryEvent]
    group_path: list[tuple[datetime, str, bool]]
    scores: list[ScorePoint]
    model_version: str | None


def list_details(
    service: StallService, ticket_ids: list[str], *, at: datetime
) -> dict[str, ListDetail]:
    """Return the owner and SLA countdown of each ticket at ``at``.

    ``minutes_to_due`` is the business minutes left on the nearest running,
    unbreached clock (None when none runs); ``breached_since`` is when the
    first breached clock passed its due instant. A paused ticket with no
    running clock gets ``paused_minutes_left`` from its own clocks.
    """
    if not ticket_ids:
        return {}
    moments = pd.DataFrame({"ticket_id": ticket_ids, "at": pd.Timestamp(at)})
    rows = service.backlog.rows_at(moments)
    out = {}
    for record in rows.to_dict("records"):
        minutes = record.get("sla_minutes_to_due")
        breached = record.get("sla_breached_since")
        paused = bool(record.get("sla_paused") == 1.0)
        ticket = str(record["ticket_id"])
        left = None
        if paused and _missing(minutes) and _missing(breached):
            clocks = service.ticket_sla(ticket, at=at).clocks.values()
            held = [
                c.remaining_minutes
                for c in clocks
                if c.state == "paused" and c.remaining_minutes is not None
            ]
            left = min(held) if held else None
        out[ticket] = ListDetail(
            owner=_text(record.get("assignee")),
            minutes_to_due=None if _missing(minutes) else float(minutes),
            paused=paused,
            breached_since=None
            if _missing(breached)
            else pd.Timestamp(breached).to_pydatetime(),
            paused_minutes_left=left,
        )
    return out


def ticket_story(service: StallService, ticket_id: str, *, at: datetime) -> Story:
    """Return a ticket's events, group path and score history as of ``at``.

    Events after ``at`` are included and marked, so a replay shows what
    happened afterwards; scores are only computed up to ``at``.
    """
    stored = service.backlog.ticket_events(ticket_id)
    if stored.empty:
        raise UnknownTicketError(0, ticket_id)
    moment = pd.Timestamp(at)
    if stored["occurred_at"].iloc[0] > moment:
        raise NotYetOpenError(0, ticket_id)

    events = [
        StoryEvent(
            occurred_at=pd.Timestamp(r["occurred_at"]).to_pydatetime(),
            fields={k: _text(r.get(k)) for k in _EVENT_FIELDS},
            after_moment=pd.Timestamp(r["occurred_at"]) > moment,
        )
        for r in stored.to_dict("records")
    ]

    # The group it was with after each change, and whether that was later.
    path: list[tuple[datetime, str, bool]] = []
    for event in events:
        group = event.fields["group"]
        if group is not None and (not path or path[-1][1] != group):
            path.append((event.occurred_at, group, event.after_moment))

    # One pass over the store: a row after each recent event instant (for the
    # scores) and a last row at the moment itself (the ticket's current state).
    scorer = service.scorer()
    scored_at: list[pd.Timestamp] = []
    if scorer is not None:
        known = stored.loc[stored["occurred_at"] <= moment, "occurred_at"]
        scored_at = known.drop_duplicates().tail(MAX_SCORED_MOMENTS).to_list()
    moments = pd.DataFrame({"ticket_id": ticket_id, "at": [*scored_at, moment]})
    rows = service.backlog.rows_at(moments)
    state = {column: _text(rows.iloc[-1][column]) for column in STATE_COLUMNS}
    if bool(rows.iloc[-1]["merged"]):
        # A merge is final: later events do not reopen the ticket.
        state["status"] = "closed"

    scores: list[ScorePoint] = []
    if scorer is not None and scored_at:
        rows = rows.iloc[:-1]
        for t, scored in zip(rows["at"], scorer.score(rows), strict=True):
            scores.append(
                ScorePoint(
                    at=pd.Timestamp(t).to_pydatetime(),
                    probability=scored.probability,
                    band=scored.band,
                    reasons=scored.reasons,
                )
            )
    return Story(
        ticket_id=ticket_id,
        at=moment.to_pydatetime(),
        state=state,
        events=events,
        group_path=path,
        scores=scores,
        model_version=None if scorer is None else scorer.version,
    )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or bool(pd.isna(value))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)
