"""The UCI importer on real rows: mapping, counts and refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.importers.problems import ImportValidationError
from features.importers.uci import load_uci
from tests.conftest import UCI_FILE


def test_load_uci_maps_first_incident_by_hand(uci_events: pd.DataFrame) -> None:
    # INC0000045 rows: New (29/2 01:23), Resolved (08:53), Resolved (11:29),
    # Closed (5/3 12:00); never breached. Creation is the first save, 01:23.
    ticket = uci_events[uci_events["ticket_id"] == "INC0000045"]

    assert ticket["kind"].tolist() == ["created", "resolved", "internal_note", "closed"]
    assert ticket["occurred_at"].iloc[0] == pd.Timestamp("2016-02-29T01:23Z")
    assert ticket["occurred_at"].iloc[-1] == pd.Timestamp("2016-03-05T12:00Z")
    first = ticket.iloc[0]
    assert (first["group"], first["priority"], first["channel"]) == (
        "Group 56",
        "moderate",
        "phone",
    )
    assert pd.isna(first["assignee"])


def test_load_uci_handoff_and_breach_events(uci_events: pd.DataFrame) -> None:
    # INC0000047 moves from Group 70 to Group 24 on its second row.
    ticket = uci_events[uci_events["ticket_id"] == "INC0000047"]
    handoffs = ticket[ticket["kind"] == "assigned"]

    assert handoffs["group"].iloc[0] == "Group 24"
    assert (ticket["kind"] == "sla_breached").sum() == 0


def test_load_uci_whole_file_counts() -> None:
    raw = pd.read_csv(UCI_FILE, dtype=str, keep_default_na=False)
    final = raw.groupby("number").tail(1)

    loaded = load_uci(UCI_FILE)
    breaches = loaded.events[loaded.events["kind"] == "sla_breached"]

    assert (loaded.rows_read, loaded.tickets) == (141_712, 24_918)
    assert (loaded.events["kind"] == "created").sum() == 24_918
    # Every incident that ends with made_sla false has one breach event.
    assert breaches["ticket_id"].nunique() == (final["made_sla"] == "false").sum()


def test_load_uci_reports_every_bad_row(uci_head: Path, tmp_path: Path) -> None:
    lines = uci_head.read_text().splitlines()
    lines[999] = lines[999].replace("/2016 ", "/20x6 ", 1)
    lines[1499] = lines[1499].replace(",Phone,", ",Carrier pigeon,", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportValidationError, match=r"2 problem") as caught:
        load_uci(bad)

    where = [(p.line, p.column) for p in caught.value.problems]
    assert where == [(1000, "opened_at"), (1500, "contact_type")]
    assert "expected one of" in str(caught.value)


def test_load_uci_refuses_wrong_separator(uci_head: Path, tmp_path: Path) -> None:
    bad = tmp_path / "semicolons.csv"
    bad.write_text(uci_head.read_text().replace(",", ";"))

    with pytest.raises(ImportValidationError, match=r"column 'number'.*comma"):
        load_uci(bad)


def test_load_uci_refuses_truncated_last_line(uci_head: Path, tmp_path: Path) -> None:
    text = uci_head.read_text()
    bad = tmp_path / "truncated.csv"
    bad.write_text(text[: len(text) - 60])

    with pytest.raises(ImportValidationError, match=r"line 40001"):
        load_uci(bad)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", r"line 1.*a CSV header"), (b"\x1f\x8b\x08\x00broken", r"readable CSV")],
    ids=["empty", "broken-gzip"],
)
def test_load_uci_refuses_unreadable_files(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(content)

    with pytest.raises(ImportValidationError, match=expected):
        load_uci(bad)


def test_load_uci_refuses_unknown_zone(uci_head: Path) -> None:
    with pytest.raises(ImportValidationError, match=r"'Mars/Base'.*IANA"):
        load_uci(uci_head, source_timezone="Mars/Base")


def test_import_refused_leaves_the_store_unchanged(
    uci_head: Path, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from features.store import count_events, imports_table, make_engine
    from stallwatch.importing import import_builtin

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    first = import_builtin(engine, "uci", uci_head, source_timezone=None)
    lines = uci_head.read_text().splitlines()
    lines[999] = lines[999].replace("/2016 ", "/20x6 ", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines[:-1], lines[-1][:40]]) + "\n")

    with pytest.raises(ImportValidationError, match=r"line 1000.*\n.*line 40001"):
        import_builtin(engine, "uci", bad, source_timezone=None)

    with engine.connect() as conn:
        imports = conn.execute(sa.select(sa.func.count()).select_from(imports_table))
        assert imports.scalar_one() == 1
    assert count_events(engine) == first.written
