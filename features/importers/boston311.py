"""Importer for the City of Boston 311 service request sample (2015-2024).

Each source row is one closed request: when it was opened (``OPEN_DT``), when
it was due (``TARGET_DT``, empty when the request type has no due date) and
when it was closed (``CLOSED_DT``), all Boston wall-clock times. A request
becomes a ``created`` event, an ``sla_breached`` event at its due date when it
was closed later, and ``resolved`` plus ``closed`` events at closure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.events import ActorRole, EventKind, Status
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

SOURCE = "boston311"

#: ``Source`` to canonical channel and the role of whoever opened the request.
CHANNEL_MAP: dict[str, tuple[str, ActorRole]] = {
    "Citizens Connect App": ("web_form", ActorRole.CUSTOMER),  # the residents' app
    "Self Service": ("web_form", ActorRole.CUSTOMER),  # the web portal
    "Constituent Call": ("phone", ActorRole.CUSTOMER),
    "Twitter": ("social", ActorRole.CUSTOMER),
    "City Worker App": ("other", ActorRole.AGENT),  # reported by city staff
    "Employee Generated": ("other", ActorRole.AGENT),
    "Maximo Integration": ("api", ActorRole.SYSTEM),  # the asset system
}

#: Source column feeding each canonical state column. ``TYPE`` (131 values) is
#: the category because due dates are set per type; ``REASON`` (35) groups
#: types. ``QUEUE`` is the team; ``Department`` is the start of its name.
STATE_COLUMNS = {
    "category": "TYPE",
    "subcategory": "REASON",
    "group": "QUEUE",
    "topic": "CASE_TITLE",
}

REQUIRED_COLUMNS = (
    "CASE_ENQUIRY_ID",
    "OPEN_DT",
    "TARGET_DT",
    "CLOSED_DT",
    "CASE_TITLE",
    "TYPE",
    "REASON",
    "QUEUE",
    "Source",
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TIME_EXPECTED = "a time yyyy-mm-dd hh:mm:ss"


def load_boston311(
    path: Path, *, source_timezone: str = "America/New_York"
) -> LogImport:
    """Validate a Boston 311 request file and turn it into canonical events.

    Parameters
    ----------
    path : Path
        ``boston311_sample_2015_2024.csv.gz``, plain or gzip-compressed.
    source_timezone : str
        IANA zone of the file's wall-clock times; the file names none.

    Returns
    -------
    LogImport
        Events sorted by ticket and time (4,995 requests in the published
        sample, one row each).

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
    times = {
        column: parse_times(
            rows,
            column,
            fmt=TIME_FORMAT,
            expected=TIME_EXPECTED,
            file=file,
            problems=problems,
            allow_empty=column == "TARGET_DT",
        )
        for column in ("OPEN_DT", "TARGET_DT", "CLOSED_DT")
    }
    backwards = (times["CLOSED_DT"] < times["OPEN_DT"]).fillna(False)
    for i in np.flatnonzero(backwards.to_numpy()):
        problems.append(
            ImportProblem(
                file,
                int(rows["line"].iloc[i]),
                "CLOSED_DT",
                str(rows["CLOSED_DT"].iloc[i]),
                f"a time not before OPEN_DT {rows['OPEN_DT'].iloc[i]}",
            )
        )
    problems += check_values(rows, "Source", CHANNEL_MAP, file)
    problems += check_filled(rows, ["CASE_ENQUIRY_ID", "TYPE", "QUEUE"], file)
    repeated = rows["CASE_ENQUIRY_ID"].duplicated()
    problems += [
        ImportProblem(file, int(line), "CASE_ENQUIRY_ID", value, "a unique case id")
        for line, value in zip(
            rows["line"][repeated], rows["CASE_ENQUIRY_ID"][repeated], strict=True
        )
    ]
    refuse_if_any(problems)

    for column, local in times.items():
        rows[column.lower()] = to_utc(local, zone)
    events = _requests_to_events(rows)
    return LogImport(
        events=events,
        rows_read=len(rows),
        tickets=rows["CASE_ENQUIRY_ID"].nunique(),
    )


def _requests_to_events(rows: pd.DataFrame) -> pd.DataFrame:
    channel = rows["Source"].map(lambda s: CHANNEL_MAP[s][0])
    opener = rows["Source"].map(lambda s: str(CHANNEL_MAP[s][1]))
    state = pd.DataFrame(
        {
            "ticket_id": rows["CASE_ENQUIRY_ID"],
            "channel": channel,
            "line": rows["line"],
        }
    )
    for canonical, column in STATE_COLUMNS.items():
        state[canonical] = blank_to_na(rows[column])

    def part(
        mask: pd.Series, at: str, kind: EventKind, role: ActorRole | pd.Series
    ) -> pd.DataFrame:
        out = state[mask.to_numpy()].copy()
        out["occurred_at"] = rows.loc[mask, at]
        out["kind"] = str(kind)
        out["actor_role"] = role if isinstance(role, str) else role[mask]
        return out

    every = pd.Series(True, index=rows.index)
    # The due date passed before closure: the request broke its own target.
    late = (rows["closed_dt"] > rows["target_dt"]).fillna(False).astype(bool)
    steps = [
        (part(every, "open_dt", EventKind.CREATED, opener), Status.NEW),
        (part(late, "target_dt", EventKind.SLA_BREACHED, ActorRole.SYSTEM), Status.NEW),
        (
            part(every, "closed_dt", EventKind.RESOLVED, ActorRole.AGENT),
            Status.RESOLVED,
        ),
        (part(every, "closed_dt", EventKind.CLOSED, ActorRole.AGENT), Status.CLOSED),
    ]
    parts = []
    for order, (events, status) in enumerate(steps):
        events["status"] = str(status)
        events["order"] = order
        events["tag"] = events["kind"]
        parts.append(events)
    return finish_events(pd.concat(parts, ignore_index=True), SOURCE)
