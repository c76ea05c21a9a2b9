"""Validate live events one by one and hand them to the store."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from api.events.order import before_created, earliest_created
from api.events.schemas import (
    EventProblemOut,
    EventResultOut,
    EventsIn,
    EventsOut,
    LiveEventIn,
)
from models.service import StallService

_EVENT = TypeAdapter(LiveEventIn)


def _json_kind(value: object) -> str:
    """Name a decoded JSON value's type as JSON does (``null``, ``array``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _store_id(event: LiveEventIn) -> str:
    return f"{event.source}:{event.event_id}"


def ingest(service: StallService, *, request: EventsIn) -> EventsOut:
    """Store every valid event once; say per event what happened."""
    results: list[EventResultOut | None] = [None] * len(request.events)
    accepted: list[tuple[int, LiveEventIn]] = []
    rejected: list[tuple[str, str]] = []
    for index, raw in enumerate(request.events):
        if not isinstance(raw, dict):
            problems = [
                EventProblemOut(
                    loc=["body", "events", index],
                    message=f"expected an object; got {_json_kind(raw)}",
                )
            ]
        else:
            try:
                accepted.append((index, _EVENT.validate_python(raw)))
                continue
            except ValidationError as exc:
                problems = [
                    EventProblemOut(
                        loc=["body", "events", index, *e["loc"]], message=e["msg"]
                    )
                    for e in exc.errors()
                ]
        raw_id = raw.get("event_id") if isinstance(raw, dict) else None
        results[index] = EventResultOut(
            index=index,
            event_id=raw_id if isinstance(raw_id, str) else None,
            status="rejected",
            problems=problems,
        )
        rejected.append(
            (
                json.dumps(raw, default=str),
                json.dumps([p.model_dump() for p in problems]),
            )
        )

    # A ticket's events may not come before its created event.
    late = _before_created(service, accepted)
    for index, problem in sorted(late.items()):
        raw = request.events[index]
        results[index] = EventResultOut(
            index=index,
            event_id=raw.get("event_id"),
            status="rejected",
            problems=[problem],
        )
        rejected.append(
            (json.dumps(raw, default=str), json.dumps([problem.model_dump()]))
        )
    accepted = [(i, e) for i, e in accepted if i not in late]

    records: list[dict[str, Any]] = [
        {
            **event.model_dump(mode="python", exclude_none=True),
            "event_id": _store_id(event),
        }
        for _, event in accepted
    ]
    written, conflicting = service.ingest_events(records, rejected)

    # The first copy of an id in the batch takes the store's answer; a later
    # copy with other content is a conflict, like a resend that differs.
    first: dict[str, dict[str, Any]] = {}
    for (index, event), record in zip(accepted, records, strict=True):
        key = _store_id(event)
        status: Literal["stored", "duplicate", "conflict"]
        if key in first:
            status = "duplicate" if first[key] == record else "conflict"
        elif key in conflicting:
            status = "conflict"
        else:
            status = "stored" if key in written else "duplicate"
        first.setdefault(key, record)
        problems = (
            [
                EventProblemOut(
                    loc=["body", "events", index, "event_id"],
                    message="this id is already stored with other content; "
                    "the stored event is kept",
                )
            ]
            if status == "conflict"
            else []
        )
        results[index] = EventResultOut(
            index=index, event_id=event.event_id, status=status, problems=problems
        )
    # Nothing sent is lost: a conflicting copy is kept beside the rejects.
    service.keep_rejected(
        [
            (
                json.dumps(request.events[r.index], default=str),
                json.dumps([p.model_dump() for p in r.problems]),
            )
            for r in results
            if r is not None and r.status == "conflict"
        ]
    )
    final = [r for r in results if r is not None]
    return EventsOut(
        stored=sum(r.status == "stored" for r in final),
        duplicates=sum(r.status == "duplicate" for r in final),
        conflicts=sum(r.status == "conflict" for r in final),
        rejected=sum(r.status == "rejected" for r in final),
        results=final,
    )


def _before_created(
    service: StallService, accepted: list[tuple[int, LiveEventIn]]
) -> dict[int, EventProblemOut]:
    """Find the events timed before their ticket's ``created`` event.

    A ``created`` event is refused when the store already holds an earlier
    event of its ticket; any other event is refused when it comes before the
    earliest ``created`` event stored or sent in the batch.
    """
    stored = service.ticket_spans({e.ticket_id for _, e in accepted})
    problems: dict[int, EventProblemOut] = {}

    known = {t: at for t, (at, _) in stored.items() if at is not None}
    created: list[tuple[int, LiveEventIn]] = []
    for index, event in accepted:
        if event.kind != "created":
            continue
        first = stored[event.ticket_id][1] if event.ticket_id in stored else None
        if first is not None and first < event.occurred_at:
            problems[index] = EventProblemOut(
                loc=["body", "events", index, "occurred_at"],
                message=f"ticket {event.ticket_id!r} already has an event at "
                f"{first.isoformat()}; expected 'created' to be its first event",
            )
        else:
            created.append((index, event))
    start = earliest_created(
        ((e.ticket_id, e.kind, e.occurred_at) for _, e in created), known
    )

    timed = [(e.ticket_id, e.kind, e.occurred_at) for _, e in accepted]
    for position, message in before_created(timed, start).items():
        index = accepted[position][0]
        problems[index] = EventProblemOut(
            loc=["body", "events", index, "occurred_at"], message=message
        )
    return problems
