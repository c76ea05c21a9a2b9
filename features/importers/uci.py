"""Importer for the UCI ServiceNow incident log (data set 498).

Each source row is a snapshot of an incident record after one update. The
importer compares every snapshot with the one before it and emits the canonical
events that explain the difference: a new assignment group is a hand-off, a new
``incident_state`` a status change, ``made_sla`` turning false an SLA breach.
Every event also carries the record's state after the update.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.events import EventKind, Status, conform_events
from features.importers.common import (
    FIRST_DATA_LINE,
    LogImport,
    check_columns,
    check_values,
    parse_times,
    read_rows,
    refuse_if_any,
    resolve_zone,
    to_utc,
)
from features.importers.problems import ImportProblem

SOURCE = "uci"

#: ``incident_state`` to canonical status; ``-100`` carries no state.
STATE_MAP: dict[str, Status | None] = {
    "New": Status.NEW,
    "Active": Status.OPEN,
    "Awaiting User Info": Status.WAITING_CUSTOMER,
    "Awaiting Vendor": Status.WAITING_THIRD_PARTY,
    "Awaiting Problem": Status.WAITING_THIRD_PARTY,
    "Awaiting Evidence": Status.WAITING_THIRD_PARTY,
    "Resolved": Status.RESOLVED,
    "Closed": Status.CLOSED,
    "-100": None,
}

#: ``contact_type`` to canonical channel.
CHANNEL_MAP = {
    "Phone": "phone",
    "IVR": "phone",
    "Email": "email",
    "Self service": "web_form",
    "Direct opening": "other",
}

#: ``priority`` to canonical priority.
PRIORITY_MAP = {
    "1 - Critical": "critical",
    "2 - High": "high",
    "3 - Moderate": "moderate",
    "4 - Low": "low",
}

#: Source column feeding each canonical state column.
STATE_COLUMNS = {
    "group": "assignment_group",
    "assignee": "assigned_to",
    "category": "category",
    "subcategory": "subcategory",
    "topic": "u_symptom",
    "requester": "caller_id",
}

REQUIRED_COLUMNS = (
    "number",
    "incident_state",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_by",
    "opened_at",
    "sys_updated_by",
    "sys_updated_at",
    "contact_type",
    "category",
    "subcategory",
    "u_symptom",
    "priority",
    "assignment_group",
    "assigned_to",
)

DATE_FORMAT = "%d/%m/%Y %H:%M"
MISSING = "?"


def _times(
    rows: pd.DataFrame, column: str, file: str
) -> tuple[pd.Series, list[ImportProblem]]:
    """Parse a day-first time column; NaT and a problem where unreadable."""
    problems: list[ImportProblem] = []
    parsed = parse_times(
        rows,
        column,
        fmt=DATE_FORMAT,
        expected="a day-first date d/m/yyyy hh:mm",
        file=file,
        problems=problems,
    )
    missing = rows[column].eq(MISSING).to_numpy()
    problems = [p for p in problems if not missing[int(p.line or 0) - FIRST_DATA_LINE]]
    return parsed, problems


def load_uci(path: Path, *, source_timezone: str = "UTC") -> LogImport:
    """Validate a UCI incident log and turn it into canonical events.

    Parameters
    ----------
    path : Path
        The CSV file, plain or gzip-compressed.
    source_timezone : str
        IANA zone of the log's wall-clock times; the log names none.

    Returns
    -------
    LogImport
        Events sorted by ticket and time, and the number of rows read.

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
    # The log marks a missing value with "?": an empty field means a cut line.
    fields = rows.drop(columns="line")
    empty = fields.eq("") | fields.isna()
    lines = rows["line"].to_numpy()
    for index in np.flatnonzero(empty.any(axis=1).to_numpy()):
        column = str(empty.columns[empty.iloc[index].to_numpy()][0])
        problems.append(
            ImportProblem(
                file,
                int(lines[index]),
                column,
                "",
                f"{fields.shape[1]} fields with '?' for a missing value "
                "(is the line truncated?)",
            )
        )
    updated, bad_times = _times(rows, "sys_updated_at", file)
    problems += bad_times + _times(rows, "opened_at", file)[1]
    problems += check_values(rows, "incident_state", STATE_MAP, file)
    problems += check_values(rows, "made_sla", ("true", "false"), file)
    problems += check_values(rows, "contact_type", CHANNEL_MAP, file)
    problems += check_values(rows, "priority", PRIORITY_MAP, file)
    # Digits only: "1.5", "1e400" or 30 nines would not be a count of saves.
    whole = rows["sys_mod_count"].str.fullmatch(r"\d{1,9}", na=False)
    problems += [
        ImportProblem(
            file,
            int(lines[i]),
            "sys_mod_count",
            rows["sys_mod_count"].iloc[i],
            "a whole number from 0 to 999999999",
        )
        for i in np.flatnonzero(~whole.to_numpy())
    ]
    problems += [
        ImportProblem(file, int(lines[i]), "number", "", "an incident number")
        for i in np.flatnonzero(rows["number"].isin(["", MISSING]).to_numpy())
    ]
    refuse_if_any(problems)

    # Order each incident's snapshots as the record saw them.
    # Wall-clock times in a DST gap move forward; repeated ones read as standard.
    rows["updated_at"] = to_utc(updated, zone)
    rows["mod"] = rows["sys_mod_count"].astype("int64")
    rows = rows.sort_values(["number", "mod", "updated_at", "line"], kind="stable")
    rows = rows.reset_index(drop=True)
    events = _snapshots_to_events(rows)
    return LogImport(
        events=events, rows_read=len(rows), tickets=rows["number"].nunique()
    )


def _snapshots_to_events(rows: pd.DataFrame) -> pd.DataFrame:
    state = pd.DataFrame(
        {
            "ticket_id": rows["number"],
            "occurred_at": rows["updated_at"],
            "actor": rows["sys_updated_by"],
            "status": rows["incident_state"].map(
                lambda s: None if STATE_MAP[s] is None else str(STATE_MAP[s])
            ),
            "priority": rows["priority"].map(PRIORITY_MAP),
            "channel": rows["contact_type"].map(CHANNEL_MAP),
        }
    )
    for canonical, column in STATE_COLUMNS.items():
        state[canonical] = rows[column].where(rows[column] != MISSING)
    # A ``-100`` state keeps the status the record had before.
    state["status"] = state.groupby(rows["number"])["status"].ffill()
    state["line"] = rows["line"]
    state["mod"] = rows["mod"]

    ticket = rows["number"]
    first = ~ticket.duplicated()
    previous = state.groupby(ticket).shift(1)
    met_sla = rows["made_sla"] == "true"
    met_before = met_sla.groupby(ticket).shift(1, fill_value=True)

    def changed(column: str) -> pd.Series:
        now, before = state[column], previous[column]
        return ~first & ~(now.eq(before).fillna(False) | (now.isna() & before.isna()))

    was_done = previous["status"].isin([Status.RESOLVED, Status.CLOSED])
    status_changed = changed("status") & state["status"].notna()
    kinds: list[tuple[str, pd.Series]] = [
        (EventKind.ASSIGNED, changed("group") | changed("assignee")),
        (EventKind.RESOLVED, status_changed & (state["status"] == Status.RESOLVED)),
        (EventKind.CLOSED, status_changed & (state["status"] == Status.CLOSED)),
        (
            EventKind.REOPENED,
            status_changed & was_done & ~state["status"].isin(["resolved", "closed"]),
        ),
        (
            EventKind.STATUS_CHANGED,
            status_changed
            & ~was_done
            & ~state["status"].isin([Status.RESOLVED, Status.CLOSED]),
        ),
        (EventKind.PRIORITY_CHANGED, changed("priority")),
        (EventKind.SLA_BREACHED, ~met_sla & met_before),
    ]
    any_change = pd.Series(False, index=rows.index)
    for _, mask in kinds:
        any_change |= mask
    kinds.append((EventKind.INTERNAL_NOTE, ~first & ~any_change))

    parts = []
    created = state[first].copy()
    # ``opened_at`` precedes the record's first save by minutes; nothing about
    # the ticket is known before that save, so creation is dated by it.
    created["occurred_at"] = rows.loc[first, "updated_at"]
    created["actor"] = rows.loc[first, "opened_by"].str.replace(r"\s+", " ", regex=True)
    created["actor_role"] = "agent"
    created["kind"] = str(EventKind.CREATED)
    created["order"] = 0
    parts.append(created)
    for order, (kind, mask) in enumerate(kinds, start=1):
        part = state[mask].copy()
        part["kind"] = str(kind)
        part["actor_role"] = "system" if kind == EventKind.SLA_BREACHED else "agent"
        part["order"] = order
        parts.append(part)

    events = pd.concat(parts, ignore_index=True)
    events["source"] = SOURCE
    events["seq"] = events["line"].astype("int64") * 16 + events["order"]
    events["event_id"] = (
        SOURCE
        + ":"
        + events["ticket_id"]
        + ":"
        + events["line"].astype(str)
        + ":"
        + events["kind"]
    )
    return conform_events(events)
