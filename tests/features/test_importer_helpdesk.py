"""The Helpdesk importer on real rows: mapping, counts and refusals."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from features.importers.helpdesk import load_helpdesk
from features.importers.problems import ImportValidationError
from features.sla.desk import load_desk_file

REPO = Path(__file__).resolve().parents[2]
HELPDESK_FILE = (
    REPO.parent / "shared" / "data" / "helpdesk" / "helpdesk_full_4tu_2017.csv"
)
DESK_FILE = REPO / "features" / "sla" / "desks" / "helpdesk.yaml"


@pytest.fixture(scope="module")
def helpdesk_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The header and first 3,000 data rows of the real log, bytes unchanged."""
    lines = HELPDESK_FILE.read_bytes().splitlines(keepends=True)
    path = tmp_path_factory.mktemp("helpdesk") / "helpdesk_head.csv"
    path.write_bytes(b"".join(lines[:3001]))
    return path


def test_load_helpdesk_maps_case_1_by_hand(helpdesk_head: Path) -> None:
    # Case 1: Assign seriousness and Take in charge ticket on 9 Oct 2012 at
    # 14:50 Rome time (CEST, UTC+2), taken in charge again by Value 2 on
    # 12 Oct, resolved 25 Oct and closed 9 Nov (CET, UTC+1).
    events = load_helpdesk(helpdesk_head).events
    ticket = events[events["ticket_id"] == "Case 1"]

    assert ticket["kind"].tolist() == [
        "created",
        "internal_note",
        "assigned",
        "assigned",
        "resolved",
        "closed",
    ]
    assert ticket["occurred_at"].iloc[0] == pd.Timestamp("2012-10-09T12:50:17Z")
    assert ticket["occurred_at"].iloc[-1] == pd.Timestamp("2012-11-09T11:54:39Z")
    assert ticket["status"].tolist() == [
        "new",
        "new",
        "open",
        "open",
        "resolved",
        "closed",
    ]
    assert ticket["assignee"].iloc[3] == "Value 2"
    last = ticket.iloc[-1]
    assert (last["group"], last["priority"], last["requester"]) == (
        "Value 1 / L1",
        "high",
        "Value 1",
    )


def test_load_helpdesk_upgrade_is_a_handoff_to_the_next_level(
    helpdesk_head: Path,
) -> None:
    events = load_helpdesk(helpdesk_head).events
    upgrades = events[events["event_id"].str.endswith(":require_upgrade")]

    assert len(upgrades) > 0
    assert (upgrades["kind"] == "assigned").all()
    assert upgrades["group"].str.contains(r" / L[2-9]$").all()
    assert upgrades["assignee"].isna().all()


def test_load_helpdesk_whole_file_counts() -> None:
    started = time.perf_counter()
    loaded = load_helpdesk(HELPDESK_FILE)
    elapsed = time.perf_counter() - started
    kinds = loaded.events["kind"].value_counts()

    assert (loaded.rows_read, loaded.duplicates_dropped) == (21_348, 127)
    assert loaded.tickets == 4_580
    assert kinds["created"] == 4_580
    assert len(loaded.events) == 25_762
    assert loaded.events["event_id"].is_unique
    assert elapsed < 10


def test_load_helpdesk_reimport_gives_identical_ids(helpdesk_head: Path) -> None:
    first = load_helpdesk(helpdesk_head).events
    second = load_helpdesk(helpdesk_head).events

    assert first["event_id"].tolist() == second["event_id"].tolist()
    pd.testing.assert_frame_equal(first, second)


def test_load_helpdesk_reports_every_bad_row(
    helpdesk_head: Path, tmp_path: Path
) -> None:
    lines = helpdesk_head.read_text().splitlines()
    lines[99] = lines[99].replace(",2012/", ",2012-", 1).replace(",2011/", ",2011-", 1)
    wait = next(i for i in range(150, len(lines)) if ",Wait," in lines[i])
    lines[wait] = lines[wait].replace(",Wait,", ",Coffee break,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportValidationError, match=r"2 problem") as caught:
        load_helpdesk(bad)

    where = [(p.line, p.column) for p in caught.value.problems]
    assert where == [(100, "Complete Timestamp"), (wait + 1, "Activity")]
    assert "'Coffee break'; expected one of" in str(caught.value)


def test_load_helpdesk_refuses_wrong_separator(
    helpdesk_head: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "semicolons.csv"
    bad.write_text(helpdesk_head.read_text().replace(",", ";"))

    with pytest.raises(ImportValidationError, match=r"line 1, column 'Case ID'.*comma"):
        load_helpdesk(bad)


def test_load_helpdesk_refuses_unknown_zone(helpdesk_head: Path) -> None:
    with pytest.raises(ImportValidationError, match=r"'Mars/Base'.*IANA"):
        load_helpdesk(helpdesk_head, source_timezone="Mars/Base")


def test_helpdesk_desk_file_loads_with_rome_office_hours() -> None:
    desk = load_desk_file(DESK_FILE)
    at = pd.Timestamp("2012-10-09T12:50:17Z").to_pydatetime()

    assert desk.calendar_at(at).timezone == "Europe/Rome"
    assert desk.policy_for({"priority": "critical"}).resolution_minutes == 960
    assert desk.policy_for({"priority": "low"}).name == "standard"
