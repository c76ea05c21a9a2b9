"""The generic importer: a CRM export plus a mapping file, checked before written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from features.importers.mapped import check_mapped, mapped_events
from features.importers.mapping import MappingError, load_mapping
from features.importers.problems import ImportValidationError
from features.store import count_events, create_schema, make_engine
from stallwatch.importing import import_mapped
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "crm-export.csv"
MAPPING = REPO / "examples" / "crm-export.mapping.yaml"


def _events(path: Path, mapping: Path = MAPPING) -> pd.DataFrame:
    loaded = load_mapping(mapping)
    check_mapped(path, loaded)
    return pd.concat(list(mapped_events(path, loaded)), ignore_index=True)


def test_mapped_example_maps_by_hand() -> None:
    events = _events(EXAMPLE)
    first = events[events["ticket_id"] == "T-100"].iloc[0]
    outage = events[events["ticket_id"] == "T-101"]

    assert len(events) == 8
    assert first["event_id"] == "examplecrm:e1"
    # 03.03.2025 09:12 in Berlin (CET, UTC+1).
    assert first["occurred_at"] == pd.Timestamp("2025-03-03T08:12Z")
    assert (first["kind"], first["actor_role"], first["channel"]) == (
        "created",
        "customer",
        "email",
    )
    # 02:30 on 30.03.2025 does not exist in Berlin: it moves to 03:00 CEST.
    assert outage["occurred_at"].tolist() == [
        pd.Timestamp("2025-03-30T01:00Z"),
        pd.Timestamp("2025-03-30T01:10Z"),
        pd.Timestamp("2025-03-30T01:15Z"),
    ]
    assert outage["status"].tolist() == ["new", "open", "waiting_third_party"]


def test_mapped_reports_every_problem_with_line_and_column(tmp_path: Path) -> None:
    lines = EXAMPLE.read_text().splitlines()
    lines[2] = lines[2].replace("03.03.2025 10:05", "31.02.2025 10:05")
    lines[3] = lines[3].replace("Customer wrote", "Telepathy")
    lines[4] = lines[4].replace("e4,", "e1,", 1)
    lines[7] = lines[7].replace("30.03.2025 03:10", "29.03.2025 23:00")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")

    with pytest.raises(ImportValidationError, match=r"4 problem") as caught:
        check_mapped(bad, load_mapping(MAPPING))

    where = [(p.line, p.column) for p in caught.value.problems]
    assert where == [(3, "When"), (4, "Action"), (5, "EventId"), (8, "When")]
    assert "at or after the ticket's creation (line 7)" in str(caught.value)


def test_mapped_names_the_line_of_bad_bytes(tmp_path: Path) -> None:
    data = EXAMPLE.read_bytes().replace(b"Invoice shows", b"Rechnung \xfcber", 1)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(data)

    with pytest.raises(
        ImportValidationError, match=r"line 2; expected text in utf-8, .*byte \d+ of"
    ):
        check_mapped(bad, load_mapping(MAPPING))


def test_mapped_refuses_wrong_separator(tmp_path: Path) -> None:
    bad = tmp_path / "semicolon.csv"
    bad.write_text(EXAMPLE.read_text().replace(",", ";"))

    with pytest.raises(ImportValidationError, match=r"a column 'Ticket'"):
        check_mapped(bad, load_mapping(MAPPING))


def test_mapped_accepts_byte_order_mark_and_json_lines(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    rows = pd.read_csv(EXAMPLE, dtype=str)
    lines_file = tmp_path / "export.jsonl"
    lines_file.write_text(
        "\n".join(json.dumps(r) for r in rows.to_dict("records")) + "\n"
    )
    spec = yaml.safe_load(MAPPING.read_text())
    spec["format"] = "jsonl"
    jsonl_mapping = tmp_path / "jsonl.yaml"
    jsonl_mapping.write_text(yaml.safe_dump(spec))

    from_csv = _events(EXAMPLE)
    pd.testing.assert_frame_equal(_events(with_bom), from_csv)
    from_jsonl = _events(lines_file, jsonl_mapping)
    columns = [c for c in from_csv.columns if c != "seq"]
    pd.testing.assert_frame_equal(from_jsonl[columns], from_csv[columns])


def test_import_mapped_writes_all_or_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    create_schema(engine)
    first = import_mapped(engine, EXAMPLE, MAPPING)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        EXAMPLE.read_text().replace("e8,T-101", "e9,T-102").replace("P1,", "P9,")
    )

    with pytest.raises(ImportValidationError, match=r"Priority"):
        import_mapped(engine, bad, MAPPING)

    again = import_mapped(engine, EXAMPLE, MAPPING)
    assert (first.written, again.written, count_events(engine)) == (8, 0, 8)
    edited = tmp_path / "edited.csv"
    edited.write_text(EXAMPLE.read_text().replace("Invoice shows", "Invoice has"))
    changed = import_mapped(engine, edited, MAPPING)
    assert (changed.written, changed.changed) == (0, 5)
    assert "5 already stored with other content" in changed.describe("edited.csv")


def test_load_mapping_lists_bad_fields(tmp_path: Path) -> None:
    spec = yaml.safe_load(MAPPING.read_text())
    spec["fields"]["mood"] = {"column": "Mood"}
    spec["kind"]["values"]["Opened"] = "born"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))

    with pytest.raises(MappingError, match=r"unknown field\(s\) \['mood'\]"):
        load_mapping(bad)
    del spec["fields"]["mood"]
    bad.write_text(yaml.safe_dump(spec))
    with pytest.raises(MappingError, match=r"kind: 'born' is not one of"):
        load_mapping(bad)


def test_mapped_json_lines_mixed_offsets_years_and_bad_lines(tmp_path: Path) -> None:
    spec = yaml.safe_load(MAPPING.read_text())
    spec["format"] = "jsonl"
    del spec["occurred_at"]["format"]
    mapping = tmp_path / "jsonl.yaml"
    mapping.write_text(yaml.safe_dump(spec))
    base = {"Ticket": "T-1", "Action": "Opened", "State": "New"}
    rows = [
        {**base, "EventId": "a", "When": "2025-06-01T10:00:00+02:00"},
        {**base, "EventId": "b", "When": "2025-06-01T09:00:00Z", "Action": "Note"},
        {**base, "EventId": "c", "When": "2025-06-01 12:00", "Action": "Note"},
    ]
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "\n".join(
            [
                json.dumps(rows[0]),
                "{not json",
                json.dumps({**rows[1], "When": "2250-01-01T00:00:00Z"}),
                json.dumps({**rows[2], "Action": "Telepathy"}),
            ]
        )
        + "\n"
    )

    times = _events(good, mapping)["occurred_at"].tolist()
    with pytest.raises(ImportValidationError, match=r"3 problem") as caught:
        check_mapped(bad, load_mapping(mapping))

    # Offsets are kept; the wall-clock time is read in Berlin (CEST, UTC+2).
    assert times == [
        pd.Timestamp("2025-06-01T08:00Z"),
        pd.Timestamp("2025-06-01T09:00Z"),
        pd.Timestamp("2025-06-01T10:00Z"),
    ]
    assert [(p.line, p.column) for p in caught.value.problems] == [
        (2, None),
        (3, "When"),
        (4, "Action"),
    ]


def test_load_mapping_refuses_unknown_zone(tmp_path: Path) -> None:
    spec = yaml.safe_load(MAPPING.read_text())
    spec["occurred_at"]["timezone"] = "America/New_Yrok"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))

    with pytest.raises(MappingError, match=r"occurred_at.timezone: .*IANA"):
        load_mapping(bad)
