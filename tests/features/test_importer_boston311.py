"""The Boston 311 importer on real rows: mapping, counts and refusals."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pandas as pd
import pytest

from features.importers.boston311 import load_boston311
from features.importers.problems import ImportValidationError
from features.sla.desk import load_desk_file

REPO = Path(__file__).resolve().parents[2]
BOSTON_FILE = (
    REPO.parent / "shared" / "data" / "boston311" / "boston311_sample_2015_2024.csv.gz"
)
DESK_FILE = REPO / "features" / "sla" / "desks" / "boston311.yaml"


@pytest.fixture(scope="module")
def boston_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The header and first 600 requests of the real sample, bytes unchanged."""
    lines = gzip.decompress(BOSTON_FILE.read_bytes()).splitlines(keepends=True)
    path = tmp_path_factory.mktemp("boston311") / "boston_head.csv"
    path.write_bytes(b"".join(lines[:601]))
    return path


def test_load_boston311_maps_first_request_by_hand(boston_head: Path) -> None:
    # 101004128563: a called-in street light knock-down opened 17 Jan 2022
    # 11:20 and closed 18 Jan 10:08:24 Boston time (EST, UTC-5); its closure
    # text says "Closed date : 2022-01-18 15:08:24.983", the same instant in UTC.
    events = load_boston311(boston_head).events
    ticket = events[events["ticket_id"] == "101004128563"]
    first = ticket.iloc[0]

    assert ticket["kind"].tolist() == ["created", "resolved", "closed"]
    assert ticket["status"].tolist() == ["new", "resolved", "closed"]
    assert first["occurred_at"] == pd.Timestamp("2022-01-17T16:20:00Z")
    assert ticket["occurred_at"].iloc[-1] == pd.Timestamp("2022-01-18T15:08:24Z")
    assert (first["channel"], first["actor_role"], first["group"]) == (
        "phone",
        "customer",
        "PWDx_Street Light Knock Downs",
    )
    assert (first["category"], first["subcategory"]) == (
        "Street Light Knock Downs",
        "Street Lights",
    )


def test_load_boston311_late_request_breaches_at_its_due_date(
    boston_head: Path,
) -> None:
    raw = pd.read_csv(boston_head, dtype=str, keep_default_na=False)
    overdue = raw[raw["OnTime_Status"] == "OVERDUE"].iloc[0]
    events = load_boston311(boston_head).events
    ticket = events[events["ticket_id"] == overdue["CASE_ENQUIRY_ID"]]
    due = pd.Timestamp(overdue["TARGET_DT"]).tz_localize("America/New_York")

    assert ticket["kind"].tolist() == ["created", "sla_breached", "resolved", "closed"]
    assert ticket["occurred_at"].iloc[1] == due.tz_convert("UTC")


def test_load_boston311_whole_file_counts() -> None:
    started = time.perf_counter()
    loaded = load_boston311(BOSTON_FILE)
    elapsed = time.perf_counter() - started
    kinds = loaded.events["kind"].value_counts()

    assert (loaded.rows_read, loaded.tickets) == (4_995, 4_995)
    assert (kinds["created"], kinds["resolved"], kinds["closed"]) == (4_995,) * 3
    # 474 rows marked OVERDUE plus one closed late with no OnTime_Status.
    assert kinds["sla_breached"] == 475
    assert loaded.events["event_id"].is_unique
    assert elapsed < 10


def test_load_boston311_reimport_gives_identical_ids(boston_head: Path) -> None:
    first = load_boston311(boston_head).events
    second = load_boston311(boston_head).events

    assert first["event_id"].tolist() == second["event_id"].tolist()
    pd.testing.assert_frame_equal(first, second)


def test_load_boston311_reports_every_bad_row(
    boston_head: Path, tmp_path: Path
) -> None:
    lines = boston_head.read_text().splitlines()
    open_dt = lines[49].split(",")[1]
    lines[49] = lines[49].replace(open_dt, open_dt.replace("-", "/"), 1)
    lines[299] = lines[299].replace(",Constituent Call,", ",Carrier pigeon,", 1)
    lines[299] = lines[299].replace(",Citizens Connect App,", ",Carrier pigeon,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportValidationError, match=r"2 problem") as caught:
        load_boston311(bad)

    where = [(p.line, p.column) for p in caught.value.problems]
    assert where == [(50, "OPEN_DT"), (300, "Source")]


def test_load_boston311_refuses_wrong_separator(
    boston_head: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "tabs.csv"
    bad.write_text(boston_head.read_text().replace(",", "\t"))

    with pytest.raises(
        ImportValidationError, match=r"line 1, column 'CASE_ENQUIRY_ID'"
    ):
        load_boston311(bad)


def test_boston311_desk_file_loads_with_type_targets() -> None:
    desk = load_desk_file(DESK_FILE)

    assert desk.calendars[0].calendar.timezone == "America/New_York"
    rodents = desk.policy_for({"category": "Rodent Activity"})
    assert rodents.resolution_minutes == 30 * 24 * 60
    needles = desk.policy_for({"category": "Needle Pickup"})
    assert needles.resolution_minutes is None
