"""Fuzzing the mapping file loader: every bad mapping is one clear MappingError.

Random YAML, mutated copies of the example mapping and damaged bytes go
through :func:`load_mapping`. Each must load, or be refused with a
:class:`MappingError` naming the file and, on each line, the field. A mapping
that loads must then read the example export without any other exception:
pass one checks it or refuses it with an :class:`ImportValidationError`, and
pass two yields the events it checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from features.importers.mapped import check_mapped, mapped_events
from features.importers.mapping import MappingError, load_mapping
from features.importers.problems import ImportValidationError
from tests.conftest import REPO
from tests.features.log_mutations import read_seed, records
from tests.yaml_documents import (
    FUZZ_SETTINGS,
    ZONE_NAMES,
    dump,
    laughs,
    yaml_files,
)

EXAMPLE = REPO / "examples" / "crm-export.csv"
SPEC: dict[str, Any] = yaml.safe_load(
    (REPO / "examples" / "crm-export.mapping.yaml").read_text(encoding="utf-8")
)
#: The example mapping, and the same for the export as JSON lines.
VALID = [SPEC, {**SPEC, "format": "jsonl"}]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example export in each format, and where the mapping is written."""
    root = tmp_path_factory.mktemp("mapping-fuzz")
    items = records(read_seed(EXAMPLE, 8))
    out = {"csv": EXAMPLE, "mapping": root / "crm.mapping.yaml"}
    out["jsonl"] = root / "export.jsonl"
    out["jsonl"].write_text("\n".join(json.dumps(i) for i in items) + "\n")
    out["json"] = root / "export.json"
    out["json"].write_text(json.dumps(items))
    return out


def _load_and_read(files: dict[str, Path], content: bytes) -> str:
    # The property: a usable mapping, or one MappingError naming each field.
    path = files["mapping"]
    path.write_bytes(content)
    try:
        mapping = load_mapping(path)
    except MappingError as exc:
        head, *lines = str(exc).splitlines()
        assert head.startswith(f"{path}: "), head
        for line in lines:
            place, _, message = line.removeprefix("  - ").partition(": ")
            assert line.startswith("  - ") and place and message, line
        return "refused: " + (lines[0].split(":")[0].strip(" -") if lines else "file")

    # A mapping that loads reads the export: checked, or refused with problems.
    export = files[mapping.format]
    try:
        rows = check_mapped(export, mapping)
    except ImportValidationError as exc:
        assert all(p.file == str(export) and p.expected for p in exc.problems)
        return "loaded, export refused"
    events = pd.concat(list(mapped_events(export, mapping)), ignore_index=True)
    assert len(events) == rows
    assert events["event_id"].notna().all() and events["kind"].notna().all()
    return "loaded, export read"


def test_mapping_files_valid_read_the_example(files: dict[str, Path]) -> None:
    for document in VALID:
        assert _load_and_read(files, dump(document).encode()) == "loaded, export read"


@settings(FUZZ_SETTINGS, max_examples=150)
@given(content=yaml_files(VALID))
def test_mapping_file_fuzzed_loads_or_names_each_bad_field(
    files: dict[str, Path], content: bytes
) -> None:
    event(_load_and_read(files, content))


def _with(**changes: Any) -> bytes:
    # The example mapping with some top-level fields replaced, as YAML bytes.
    return dump({**SPEC, **changes}).encode()


def _time(**changes: Any) -> dict[str, Any]:
    return {**SPEC["occurred_at"], **changes}


@settings(FUZZ_SETTINGS, max_examples=60)
@given(
    separator=st.one_of(st.characters(), st.sampled_from(['"', "\n", "\r", "\x00"])),
    encoding=st.one_of(
        st.sampled_from(
            [
                *("utf-8", "UTF8", "latin-1", "cp1252", "ascii", "utf-16", "utf-32"),
                *("utf-7", "idna", "punycode", "unicode_escape", "rot13", "zlib"),
                *("hex", "base64", "undefined", "nosuch", ""),
            ]
        ),
        st.text(max_size=10),
    ),
)
# found by the fuzzer: ValueError from read_csv (a line break as separator)
@example(separator="\n", encoding="utf-8")
# LookupError from read_csv ("rot13" is not a text encoding)
@example(separator=",", encoding="rot13")
# UnicodeError from read_csv: UTF-16 without a byte-order mark
@example(separator=",", encoding="utf-16")
def test_mapping_csv_options_load_or_name_the_field(
    files: dict[str, Path], separator: str, encoding: str
) -> None:
    content = _with(csv={"separator": separator, "encoding": encoding})

    event(_load_and_read(files, content))


@settings(FUZZ_SETTINGS, max_examples=60)
@given(
    time_format=st.one_of(
        st.lists(
            st.sampled_from([*"%YmdHMSfzjbBpI:.- TQsE%", "%%", "%-d", "%:z"]),
            max_size=8,
        ).map("".join),
        st.text(max_size=10),
    ),
    zone=ZONE_NAMES,
)
# found by the fuzzer: ValueError from to_datetime ("stray % in format")
@example(time_format="%", zone="UTC")
# ValueError from to_datetime ("'Q' is a bad directive")
@example(time_format="%d.%m.%Y %Q", zone="UTC")
# found by reading the loader: IsADirectoryError from ZoneInfo
@example(time_format="%d.%m.%Y %H:%M", zone="America")
def test_mapping_time_format_and_zone_load_or_name_the_field(
    files: dict[str, Path], time_format: str, zone: str
) -> None:
    content = _with(occurred_at=_time(format=time_format, timezone=zone))

    event(_load_and_read(files, content))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # AssertionError in the importer: a field with no column or constant
        (_with(kind={}), r"kind: Value error, expected 'column'"),
        (_with(ticket_id={"values": {"a": "b"}}), r"ticket_id: .*'constant'"),
        # IsADirectoryError from ZoneInfo
        (_with(occurred_at=_time(timezone="America")), r"occurred_at\.timezone"),
        # ValueError from PyYAML: an impossible date
        (b"source: 2016-02-30\n", r"not a readable YAML file \(line 1, column 9"),
        # RecursionError from PyYAML
        (b"[" * 5_000, r"levels of nested lists"),
        # nine levels of nine aliases: refused before anything walks them
        (laughs("fields"), r"expected at most 100000 values"),
        # a document that is not a mapping named no field
        (b"- 1\n", r"  - <document>: Input should be a valid dictionary"),
    ],
)
def test_mapping_file_regression_refused_naming_the_field(
    files: dict[str, Path], content: bytes, expected: str
) -> None:
    files["mapping"].write_bytes(content)

    with pytest.raises(MappingError, match=expected):
        load_mapping(files["mapping"])
