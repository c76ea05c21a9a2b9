"""Validate live events one by one and hand them to the store."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError

from api.events.schemas import (
    EventProblemOut,
    EventResultOut,
    EventsIn,
    EventsOut,
    LiveEventIn,
)
from models.service import StallService

_EVENT = TypeAdapter(LiveEventIn)


def _store_id(event: LiveEventIn) -> str:
    return f"{event.source}:{event.event_id}"


def ingest(service: StallService, *, request: EventsIn) -> EventsOut:
    """Store every valid event once; say per event what happened."""
    results: list[EventResultOut | None] = [None] * len(request.events)
    accepted: list[tuple[int, LiveEventIn]] = []
    rejected: list[tuple[str, str]] = []
    for index, raw in enumerate(request.events):
        try:
            accepted.append((index, _EVENT.validate_python(raw)))
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

    records: list[dict[str, Any]] = [
        {
            **event.model_dump(mode="python", exclude_none=True),
            "event_id": _store_id(event),
        }
        for _, event in accepted
    ]
    written = service.ingest_events(records, rejected)

    # The first copy of an id in the batch takes the store's answer.
    seen: set[str] = set()
    for index, event in accepted:
        key = _store_id(event)
        fresh = key in written and key not in seen
        seen.add(key)
        results[index] = EventResultOut(
            index=index,
            event_id=event.event_id,
            status="stored" if fresh else "duplicate",
        )
    final = [r for r in results if r is not None]
    return EventsOut(
        stored=sum(r.status == "stored" for r in final),
        duplicates=sum(r.status == "duplicate" for r in final),
        rejected=sum(r.status == "rejected" for r in final),
        results=final,
    )
