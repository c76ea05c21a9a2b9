"""Importer for the Helpdesk log of an Italian software company (4TU, 2017).

Each source row is one activity on a ticket (``Case ID``) by a person
(``Resource``), with the case attributes as they stood at that moment. The
importer maps every activity to a canonical event through :data:`ACTIVITIES`
and gives each event the ticket's state after it. The log names no time zone;
its times are read as Europe/Rome wall-clock times by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pandas as pd

from features.events import DONE_STATUSES, ActorRole, EventKind, Status
from features.importers.common import (
    LogImport,
    blank_to_na,
    check_columns,
    check_filled,
    check_values,
    finish_events,
    parse_times,
    read_rows,
    refuse_if_any,
    resolve_zone,
    to_utc,
)
from features.importers.problems import ImportProblem

SOURCE = "helpdesk"

#: Status marker: end a wait on the software team, otherwise keep the status.
RESUME: Final = "resume"


class Step(NamedTuple):
    """What one source activity means for the ticket."""

    kind: EventKind
    status: Status | str | None  # the status after it; None keeps the last one
    role: ActorRole


#: ``Activity`` to canonical event. The four upper-case activities are states
#: of the software anomaly in the developers' tracker, not of the ticket: they
#: follow ``Create SW anomaly`` and two of them come after ``Closed`` (cases
#: 1345, 3897), so they only end a wait on the developers (:data:`RESUME`).
ACTIVITIES: dict[str, Step] = {
    # activity               kind                     status after                actor
    "Insert ticket": Step(EventKind.CREATED, Status.NEW, ActorRole.AGENT),
    # triage by an agent, no contact with the customer
    "Assign seriousness": Step(EventKind.INTERNAL_NOTE, None, ActorRole.AGENT),
    # the Resource becomes the assignee
    "Take in charge ticket": Step(EventKind.ASSIGNED, Status.OPEN, ActorRole.AGENT),
    # the desk waits for the customer
    "Wait": Step(EventKind.STATUS_CHANGED, Status.WAITING_CUSTOMER, ActorRole.AGENT),
    # hand-off to the next support level; nobody holds the ticket until taken
    "Require upgrade": Step(EventKind.ASSIGNED, Status.OPEN, ActorRole.AGENT),
    # a bug report to the developers: a wait on a third party
    "Create SW anomaly": Step(
        EventKind.STATUS_CHANGED, Status.WAITING_THIRD_PARTY, ActorRole.AGENT
    ),
    "Resolve SW anomaly": Step(EventKind.STATUS_CHANGED, RESUME, ActorRole.EXTERNAL),
    # an appointment agreed with the customer
    "Schedule intervention": Step(EventKind.AGENT_REPLY, Status.OPEN, ActorRole.AGENT),
    "Resolve ticket": Step(EventKind.RESOLVED, Status.RESOLVED, ActorRole.AGENT),
    "Closed": Step(EventKind.CLOSED, Status.CLOSED, ActorRole.AGENT),
    "RESOLVED": Step(EventKind.INTERNAL_NOTE, RESUME, ActorRole.EXTERNAL),
    "VERIFIED": Step(EventKind.INTERNAL_NOTE, RESUME, ActorRole.EXTERNAL),
    "INVALID": Step(EventKind.INTERNAL_NOTE, RESUME, ActorRole.EXTERNAL),
    "DUPLICATE": Step(EventKind.INTERNAL_NOTE, RESUME, ActorRole.EXTERNAL),
}

#: ``seriousness_2`` to canonical priority. The published codes are anonymised
#: and their order is not given; they are ranked by how fast the desk resolved
#: them in this log (median days to the first ``Resolve ticket``: Value 4 0.2,
#: Value 1 5.8, Value 2 8.0, Value 3 9.4). ``seriousness`` has one value only
#: and is not used.
PRIORITY_MAP = {
    "Value 4": "critical",
    "Value 1": "high",
    "Value 2": "moderate",
    "Value 3": "low",
}

#: Source column feeding each canonical state column. ``group`` is the
#: workgroup plus the support level reached (see :func:`_state`); the service
#: level is the customer tier that SLA policies may match on (see
#: ``features/sla/desks/helpdesk.yaml``). ``responsible_section`` and
#: ``support_section`` never change within a case and are not kept.
STATE_COLUMNS = {
    "requester": "customer",
    "category": "product",
    "subcategory": "service_type",
}

REQUIRED_COLUMNS = (
    "Case ID",
    "Activity",
    "Resource",
    "Complete Timestamp",
    "customer",
    "product",
    "seriousness_2",
    "service_level",
    "service_type",
    "workgroup",
)

TIME_FORMAT = "%Y/%m/%d %H:%M:%S.%f"

#: Activities logged by the developers' tracker; their rows carry the tracker
#: record's attributes (another workgroup, seriousness and customer in cases
#: 732, 1345 and 3897), so they inherit the ticket's from the row before.
TRACKER_ACTIVITIES = frozenset({"RESOLVED", "VERIFIED", "INVALID", "DUPLICATE"})
TICKET_ATTRIBUTES = (
    "customer",
    "product",
    "seriousness_2",
    "service_level",
    "service_type",
    "workgroup",
)


def load_helpdesk(path: Path, *, source_timezone: str = "Europe/Rome") -> LogImport:
    """Validate the full Helpdesk log and turn it into canonical events.

    Parameters
    ----------
    path : Path
        ``helpdesk_full_4tu_2017.csv``, plain or gzip-compressed.
    source_timezone : str
        IANA zone of the log's wall-clock times; the log names none.

    Returns
    -------
    LogImport
        Events sorted by ticket and time; ``rows_read`` counts every data row,
        ``duplicates_dropped`` the exact copies of an earlier row (127 in the
        published file: 21,348 rows, 21,221 distinct, 4,580 cases).

    Raises
    ------
    ImportValidationError
        Listing every problem found; nothing is returned half-done.
    """
    file = str(path)
    zone = resolve_zone(source_timezone, file)
    rows = read_rows(path)
    check_columns(rows, REQUIRED_COLUMNS, file)

    # Validate everything before building anything.
    problems: list[ImportProblem] = []
    local = parse_times(
        rows,
        "Complete Timestamp",
        fmt=TIME_FORMAT,
        expected="a time yyyy/mm/dd hh:mm:ss.fff",
        file=file,
        problems=problems,
    )
    problems += check_values(rows, "Activity", ACTIVITIES, file)
    problems += check_values(rows, "seriousness_2", PRIORITY_MAP, file)
    problems += check_filled(
        rows, [c for c in REQUIRED_COLUMNS if c != "Complete Timestamp"], file
    )
    refuse_if_any(problems)

    # The header repeats ``Variant`` (read as ``Variant.1``); both copies are
    # case labels of the publisher's process mining and are ignored. Exact
    # copies of an earlier row, the repeated column included, are one event.
    rows_read = len(rows)
    duplicate = rows.drop(columns="line").duplicated()
    rows = rows[~duplicate.to_numpy()].copy()
    rows["at"] = to_utc(local[~duplicate.to_numpy()], zone)
    rows = rows.sort_values(["Case ID", "at", "line"], kind="stable")
    rows = rows.reset_index(drop=True)
    tracker = rows["Activity"].isin(list(TRACKER_ACTIVITIES))
    inherited = rows[list(TICKET_ATTRIBUTES)].mask(tracker, None)
    inherited = inherited.groupby(rows["Case ID"]).ffill()
    rows[list(TICKET_ATTRIBUTES)] = inherited.fillna(rows[list(TICKET_ATTRIBUTES)])

    events = _activities_to_events(rows)
    return LogImport(
        events=events,
        rows_read=rows_read,
        tickets=rows["Case ID"].nunique(),
        duplicates_dropped=int(duplicate.sum()),
    )


def _status_after(rows: pd.DataFrame) -> pd.Series:
    # The status each activity leaves the ticket in, resolving RESUME markers.
    ticket = rows["Case ID"]
    first = ~ticket.duplicated()
    explicit = rows["Activity"].map(
        {a: None if s.status is None else str(s.status) for a, s in ACTIVITIES.items()}
    )
    explicit = explicit.mask(first & (explicit.isna() | explicit.eq(RESUME)), "new")
    resume = explicit.eq(RESUME)
    carried = explicit.mask(resume).groupby(ticket).ffill()
    before = carried.groupby(ticket).shift(1)
    waiting_on_developers = before.eq(Status.WAITING_THIRD_PARTY).fillna(False)
    explicit = explicit.mask(resume, None)
    explicit = explicit.mask(resume & waiting_on_developers, str(Status.OPEN))
    return explicit.groupby(ticket).ffill()


def _state(rows: pd.DataFrame) -> pd.DataFrame:
    # The ticket's state after each row.
    ticket = rows["Case ID"]
    activity = rows["Activity"]
    state = pd.DataFrame(
        {
            "ticket_id": ticket,
            "occurred_at": rows["at"],
            "actor": rows["Resource"],
            "status": _status_after(rows),
            "priority": rows["seriousness_2"].map(PRIORITY_MAP),
            "customer_tier": rows["service_level"],
            "line": rows["line"],
        }
    )
    for canonical, column in STATE_COLUMNS.items():
        state[canonical] = rows[column]

    # Each ``Require upgrade`` moves the ticket one support level up: a new
    # group, so the hand-off counts, and nobody holds it until taken in charge.
    upgrade = activity.eq("Require upgrade")
    level = upgrade.astype("int64").groupby(ticket).cumsum() + 1
    state["group"] = rows["workgroup"] + " / L" + level.astype(str)
    taken = rows["Resource"].where(activity.eq("Take in charge ticket"))
    taken = taken.mask(upgrade, "")
    state["assignee"] = blank_to_na(taken.groupby(ticket).ffill())
    return state


def _activities_to_events(rows: pd.DataFrame) -> pd.DataFrame:
    state = _state(rows)
    ticket = state["ticket_id"]
    first = ~ticket.duplicated()
    previous = state.groupby(ticket).shift(1)
    steps = rows["Activity"].map(ACTIVITIES)

    # The activity's own event, with its kind adjusted to what it did.
    own = state.copy()
    own["kind"] = steps.map(lambda s: str(s.kind))
    own["actor_role"] = steps.map(lambda s: str(s.role))
    own["tag"] = rows["Activity"].str.lower().str.replace(" ", "_", regex=False)
    own["order"] = 1
    was_done = previous["status"].isin(list(DONE_STATUSES))
    now_open = ~state["status"].isin(list(DONE_STATUSES))
    explicit = steps.map(lambda s: s.status not in (None, RESUME))
    same_status = state["status"].eq(previous["status"]).fillna(False)
    reopened = ~first & was_done & now_open & explicit
    own.loc[reopened, "kind"] = str(EventKind.REOPENED)
    quiet = own["kind"].eq(EventKind.STATUS_CHANGED) & same_status
    own.loc[quiet, "kind"] = str(EventKind.INTERNAL_NOTE)

    # Every ticket gets one ``created`` event, at its first row when the log
    # has no ``Insert ticket`` there (4,462 of 4,580 cases).
    inserted = first & rows["Activity"].eq("Insert ticket")
    created = state[first & ~inserted].copy()
    created["kind"] = str(EventKind.CREATED)
    created["actor_role"] = str(ActorRole.AGENT)
    created["status"] = str(Status.NEW)
    created["assignee"] = None
    created["tag"] = "created"
    created["order"] = 0

    # Seriousness and workgroup also change between rows (77 and 5 cases).
    changes = []
    for column, kind in (
        ("priority", EventKind.PRIORITY_CHANGED),
        ("group", EventKind.ASSIGNED),
    ):
        moved = ~first & state[column].ne(previous[column]) & own["kind"].ne(kind)
        part = state[moved.to_numpy()].copy()
        part["kind"] = str(kind)
        part["actor_role"] = str(ActorRole.AGENT)
        part["tag"] = str(kind)
        part["order"] = 2 if kind == EventKind.PRIORITY_CHANGED else 3
        changes.append(part)

    events = pd.concat([created, own, *changes], ignore_index=True)
    events["line"] = events["line"].astype(np.int64)
    return finish_events(events, SOURCE)
