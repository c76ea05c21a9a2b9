"""The one rule on event order: no event of a ticket before its created event.

POST /v1/events checks it against the store and the batch, POST
/v1/risk-scores against the events sent for each ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

#: One event as the rule sees it: its ticket, its kind and its instant.
TimedEvent = tuple[str, str, datetime]


def earliest_created(
    events: Iterable[TimedEvent], known: Mapping[str, datetime] | None = None
) -> dict[str, datetime]:
    """Return each ticket's earliest ``created`` instant, ``known`` ones included."""
    created = dict(known or {})
    for ticket_id, kind, at in events:
        if kind == "created" and (ticket_id not in created or at < created[ticket_id]):
            created[ticket_id] = at
    return created


def before_created(
    events: Iterable[TimedEvent], created: Mapping[str, datetime]
) -> dict[int, str]:
    """Return position -> message of the events before their ticket's creation.

    A ``created`` event is never refused here, nor an event of a ticket whose
    creation is not known; an event at the created instant is in order.
    """
    problems: dict[int, str] = {}
    for position, (ticket_id, kind, at) in enumerate(events):
        start = created.get(ticket_id)
        if kind == "created" or start is None or at >= start:
            continue
        problems[position] = (
            f"before the created event of ticket {ticket_id!r} at "
            f"{start.isoformat()}; expected an instant at or after it"
        )
    return problems
