"""The canonical ticket event log: one row per event, every source mapped onto it."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class EventKind(StrEnum):
    """What happened to a ticket."""

    CREATED = "created"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"
    INTERNAL_NOTE = "internal_note"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    PRIORITY_CHANGED = "priority_changed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    MERGED = "merged"
    POLICY_CHANGED = "policy_changed"
    SLA_BREACHED = "sla_breached"


class ActorRole(StrEnum):
    """Who acted."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    EXTERNAL = "external"


class Status(StrEnum):
    """Canonical ticket statuses; sources map their own onto these."""

    NEW = "new"
    OPEN = "open"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_THIRD_PARTY = "waiting_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: Statuses in which a ticket waits on someone outside the desk.
WAITING_STATUSES = frozenset({Status.WAITING_CUSTOMER, Status.WAITING_THIRD_PARTY})
#: Statuses in which a ticket no longer needs work.
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})

#: Priorities from most to least urgent; the position is the priority rank.
PRIORITIES = ("critical", "high", "moderate", "low")

#: Channels a ticket or message can come through.
CHANNELS = ("email", "web_form", "chat", "phone", "social", "api", "other")

#: Columns of the event log, in order, with their pandas dtypes.
EVENT_COLUMNS: dict[str, str] = {
    "event_id": "string",
    "source": "string",
    "ticket_id": "string",
    "seq": "int64",
    "occurred_at": "datetime64[ns, UTC]",
    "kind": "string",
    "actor": "string",
    "actor_role": "string",
    "requester": "string",
    "customer_tier": "string",
    "group": "string",
    "assignee": "string",
    "status": "string",
    "priority": "string",
    "channel": "string",
    "category": "string",
    "subcategory": "string",
    "topic": "string",
}


#: The status an event of these kinds leaves the ticket in, when it names none.
_STATUS_OF_KIND = {
    "resolved": Status.RESOLVED.value,
    "closed": Status.CLOSED.value,
    "merged": Status.CLOSED.value,
    "reopened": Status.OPEN.value,
}

#: Who acts in an event of these kinds, when the event names no role.
_ROLE_OF_KIND = {
    "customer_message": ActorRole.CUSTOMER.value,
    "sla_breached": ActorRole.SYSTEM.value,
    "policy_changed": ActorRole.SYSTEM.value,
}


def empty_events() -> pd.DataFrame:
    """Return an event frame with no rows and the canonical columns."""
    return conform_events(pd.DataFrame({c: [] for c in EVENT_COLUMNS}))


def conform_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with exactly the canonical columns, dtypes and order.

    Parameters
    ----------
    frame : DataFrame
        Event rows; optional columns may be missing and are filled with NA.
        ``occurred_at`` may be any datetime-like and is converted to UTC.

    Returns
    -------
    DataFrame
        Sorted by ``ticket_id``, ``occurred_at``, ``seq`` and ``event_id``, so
        the order never depends on the order of arrival; a fresh index.
    """
    out = pd.DataFrame(index=frame.index)
    for column, dtype in EVENT_COLUMNS.items():
        if column in frame.columns:
            values = frame[column]
        elif column == "seq":
            values = pd.Series(0, index=frame.index)
        else:
            values = pd.Series(pd.NA, index=frame.index, dtype="object")
        if column == "occurred_at":
            out[column] = pd.to_datetime(values, utc=True).astype(dtype)
        else:
            out[column] = values.astype(dtype)
    # A resolve, close or reopen changes the status even when none is given.
    for kind, status in _STATUS_OF_KIND.items():
        implied = (out["kind"] == kind).fillna(False) & out["status"].isna()
        out.loc[implied, "status"] = status
    # A role left out follows from the kind: customers write messages, the
    # system breaches and changes policies, agents do the rest.
    role = out["kind"].map(_ROLE_OF_KIND).fillna(ActorRole.AGENT.value)
    out["actor_role"] = out["actor_role"].fillna(role.astype("string"))
    out = out.sort_values(
        ["ticket_id", "occurred_at", "seq", "event_id"], kind="stable"
    )
    return out.reset_index(drop=True)
