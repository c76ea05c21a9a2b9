"""Importer for the BPI Challenge 2013 incident log (Volvo IT Belgium, VINST).

Each source row records an incident (``SR Number``) after one change: its
status and sub-status, the support team involved (``Involved ST``) and the
owner. The importer compares each row with the one before it and emits the
canonical events that explain the difference: a new team is a hand-off, a new
status a status change; each event carries the incident's state after it.
Times carry their own +01:00 offset and are converted to UTC.
"""

from __future__ import annotations

from pathlib import Path

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
)
from features.importers.problems import ImportProblem

SOURCE = "bpi2013"

#: ``Status / Sub Status`` to canonical status; None keeps the last status.
STATUS_MAP: dict[str, Status | None] = {
    "Queued / Awaiting Assignment": Status.OPEN,  # in a team's queue, unowned
    "Accepted / Assigned": Status.OPEN,
    "Accepted / In Progress": Status.OPEN,
    "Accepted / Wait - User": Status.WAITING_CUSTOMER,
    "Accepted / Wait - Customer": Status.WAITING_CUSTOMER,
    # "Wait" names nobody; the user is the party waited on most (4,318 rows
    # name the user or customer, 806 the vendor or an implementation).
    "Accepted / Wait": Status.WAITING_CUSTOMER,
    "Accepted / Wait - Vendor": Status.WAITING_THIRD_PARTY,
    "Accepted / Wait - Implementation": Status.WAITING_THIRD_PARTY,
    "Completed / In Call": Status.RESOLVED,  # solved while on the call
    "Completed / Resolved": Status.RESOLVED,
    "Completed / Closed": Status.CLOSED,
    "Completed / Cancelled": Status.CLOSED,
    "Unmatched / Unmatched": None,  # 5 rows the publisher could not match
}

#: ``SR Latest Impact`` to canonical priority.
PRIORITY_MAP = {
    "Major": "critical",
    "High": "high",
    "Medium": "moderate",
    "Low": "low",
}

#: Source column feeding each canonical state column. ``Involved Org line 3``
#: is the organisation of the team involved (it changes with the team in
#: 2,034 incidents), not the requester's, so it is the topic; the log names no
#: requester. ``ST Level`` (L1, L2, L3, L2/L3) is the subcategory.
STATE_COLUMNS = {
    "group": "Involved ST",
    "category": "Product",
    "subcategory": "ST Level",
    "topic": "Involved Org line 3",
}

#: ``Owner First Name`` of changes made by the CRM itself, not a person.
SYSTEM_OWNER = "Siebel"

REQUIRED_COLUMNS = (
    "SR Number",
    "Change Date+Time",
    "Status",
    "Sub Status",
    "Involved ST",
    "ST Level",
    "Involved Org line 3",
    "SR Latest Impact",
    "Product",
    "Owner First Name",
    "Resource",
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def load_bpi2013(path: Path) -> LogImport:
    """Validate the BPI 2013 incident log and turn it into canonical events.

    Parameters
    ----------
    path : Path
        ``bpic2013_incidents.csv.gz`` (UTF-8 with a byte-order mark, CRLF line
        ends), plain or gzip-compressed.

    Returns
    -------
    LogImport
        Events sorted by ticket and time (65,533 rows, 7,554 incidents in the
        published file, no duplicate rows).

    Raises
    ------
    ImportValidationError
        Listing every problem found; nothing is returned half-done.
    """
    file = str(path)
    rows = read_rows(path, encoding="utf-8-sig")
    check_columns(rows, REQUIRED_COLUMNS, file)

    # Validate everything before building anything.
    problems: list[ImportProblem] = []
    at = parse_times(
        rows,
        "Change Date+Time",
        fmt=TIME_FORMAT,
        expected="an ISO 8601 time with offset, yyyy-mm-ddThh:mm:ss+hh:mm",
        file=file,
        problems=problems,
    )
    rows["status_key"] = rows["Status"] + " / " + rows["Sub Status"]
    problems += [
        ImportProblem(p.file, p.line, "Sub Status", p.value, p.expected)
        for p in check_values(rows, "status_key", STATUS_MAP, file)
    ]
    problems += check_values(rows, "SR Latest Impact", PRIORITY_MAP, file)
    problems += check_filled(
        rows, ["SR Number", "Involved ST", "Product", "Resource"], file
    )
    refuse_if_any(problems)

    rows["at"] = at
    rows = rows.sort_values(["SR Number", "at", "line"], kind="stable")
    rows = rows.reset_index(drop=True)
    events = _changes_to_events(rows)
    return LogImport(
        events=events, rows_read=len(rows), tickets=rows["SR Number"].nunique()
    )


def _state(rows: pd.DataFrame) -> pd.DataFrame:
    # The incident's state after each row.
    ticket = rows["SR Number"]
    system = rows["Owner First Name"].eq(SYSTEM_OWNER)
    status = rows["status_key"].map(
        {k: None if v is None else str(v) for k, v in STATUS_MAP.items()}
    )
    state = pd.DataFrame(
        {
            "ticket_id": ticket,
            "occurred_at": rows["at"],
            "actor": rows["Resource"],
            "actor_role": pd.Series(str(ActorRole.AGENT), index=rows.index).mask(
                system, str(ActorRole.SYSTEM)
            ),
            # The CRM closing an incident does not take it over.
            "assignee": rows["Resource"].mask(system).groupby(ticket).ffill(),
            "status": status.groupby(ticket).ffill(),
            "priority": rows["SR Latest Impact"].map(PRIORITY_MAP),
            "line": rows["line"],
        }
    )
    for canonical, column in STATE_COLUMNS.items():
        state[canonical] = blank_to_na(rows[column])
    return state


def _changes_to_events(rows: pd.DataFrame) -> pd.DataFrame:
    state = _state(rows)
    ticket = state["ticket_id"]
    first = ~ticket.duplicated()
    previous = state.groupby(ticket).shift(1)

    def changed(column: str) -> pd.Series:
        now, before = state[column], previous[column]
        same = now.eq(before).fillna(False) | (now.isna() & before.isna())
        return ~first & ~same

    done = [str(s) for s in DONE_STATUSES]
    was_done = previous["status"].isin(done)
    is_done = state["status"].isin(done)
    status_changed = changed("status") & state["status"].notna()
    kinds: list[tuple[EventKind, pd.Series]] = [
        (EventKind.ASSIGNED, changed("group") | changed("assignee")),
        (EventKind.RESOLVED, status_changed & state["status"].eq(Status.RESOLVED)),
        (EventKind.CLOSED, status_changed & state["status"].eq(Status.CLOSED)),
        (EventKind.REOPENED, status_changed & was_done & ~is_done),
        (EventKind.STATUS_CHANGED, status_changed & ~was_done & ~is_done),
        (EventKind.PRIORITY_CHANGED, changed("priority")),
    ]
    # A row that changes nothing canonical is still someone's action.
    any_change = pd.Series(False, index=state.index)
    for _, mask in kinds:
        any_change |= mask
    kinds.append((EventKind.INTERNAL_NOTE, ~first & ~any_change))

    created = state[first].copy()
    created["kind"] = str(EventKind.CREATED)
    created["order"] = 0
    parts = [created]
    for order, (kind, mask) in enumerate(kinds, start=1):
        part = state[mask.to_numpy()].copy()
        part["kind"] = str(kind)
        part["order"] = order
        parts.append(part)

    events = pd.concat(parts, ignore_index=True)
    events["tag"] = events["kind"]
    return finish_events(events, SOURCE)
