"""Fuzzing the SLA desk file loader: every bad file is one clear SlaConfigError.

Random YAML, mutated copies of the four shipped desk files and damaged bytes
go through :func:`load_desk_file`. Each must load, or be refused with an
:class:`SlaConfigError` naming the file and, for every issue, the field and
what was expected; no other exception may escape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import event, example, given, settings

from features.sla.desk import load_desk_file
from features.sla.validation import SlaConfigError
from tests.conftest import REPO
from tests.yaml_documents import (
    FUZZ_SETTINGS,
    ZONE_NAMES,
    dump,
    laughs,
    yaml_files,
)

DESKS = sorted((REPO / "features" / "sla" / "desks").glob("*.yaml"))
VALID = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in DESKS]


@pytest.fixture(scope="module")
def desk_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each example's desk file is written."""
    return tmp_path_factory.mktemp("desk-fuzz") / "desk.yaml"


def _load_or_refuse(path: Path, content: bytes) -> str:
    # The property: a desk, or one SlaConfigError that names every place.
    path.write_bytes(content)
    try:
        desk = load_desk_file(path)
    except SlaConfigError as exc:
        assert str(path) in str(exc)
        assert exc.issues
        for issue in exc.issues:
            assert issue.field.strip(), issue
            assert issue.expected.strip(), issue
        return "refused at " + exc.issues[0].field.split(".")[0].split("[")[0]
    assert desk.calendars
    desk.calendar_at(datetime(2020, 1, 1, tzinfo=UTC))
    return "loaded"


def test_desk_files_shipped_load_as_they_are(desk_path: Path) -> None:
    assert len(DESKS) == 4
    for document in VALID:
        assert _load_or_refuse(desk_path, dump(document).encode()) == "loaded"


@settings(FUZZ_SETTINGS, max_examples=150)
@given(content=yaml_files(VALID))
def test_desk_file_fuzzed_loads_or_names_each_bad_field(
    desk_path: Path, content: bytes
) -> None:
    event(_load_or_refuse(desk_path, content))


def _desk_with(**changes: object) -> bytes:
    # The UCI desk with some top-level fields replaced, as file bytes.
    document = {**VALID[DESKS.index(REPO / "features/sla/desks/uci.yaml")], **changes}
    return dump(document).encode()


@pytest.mark.parametrize(
    ("content", "field"),
    [
        # found by the fuzzer: TypeError (unhashable type: 'list')
        (_desk_with(response_kinds=[["agent_reply"]]), "response_kinds"),
        # found by the fuzzer: OverflowError (date value out of range)
        (
            _desk_with(
                calendars=[
                    {
                        "effective_from": "0001-01-01T00:00:00+01:00",
                        "timezone": "UTC",
                        "week": "24/7",
                    }
                ]
            ),
            "calendars[0].effective_from",
        ),
        # found by the fuzzer: RecursionError from PyYAML
        (b"[" * 5_000, "<document>"),
        # found by the fuzzer: UnicodeDecodeError
        (b"\x80name: x\n", "<document>"),
        # ValueError from PyYAML building an impossible date
        (b"name: 2016-02-30\n", "<document>"),
        # minutes and gigabytes to describe the bad value: aliases of aliases
        (laughs("response_kinds"), "<document>"),
    ],
)
def test_desk_file_regression_refused_naming_the_field(
    desk_path: Path, content: bytes, field: str
) -> None:
    desk_path.write_bytes(content)

    with pytest.raises(SlaConfigError, match=r"desk\.yaml") as caught:
        load_desk_file(desk_path)

    assert caught.value.issues[0].field == field


@settings(FUZZ_SETTINGS, max_examples=60)
@given(zone=ZONE_NAMES)
# found by reading the loader, then here: IsADirectoryError from ZoneInfo
@example(zone="America")
# OSError (file name too long) from ZoneInfo
@example(zone="x" * 300)
def test_desk_file_any_zone_loads_or_names_the_calendar_field(
    desk_path: Path, zone: str
) -> None:
    calendar = {"effective_from": "2000-01-01T00:00:00+00:00", "week": "24/7"}
    desk_path.write_bytes(_desk_with(calendars=[{**calendar, "timezone": zone}]))

    try:
        desk = load_desk_file(desk_path)
    except SlaConfigError as exc:
        assert [i.field for i in exc.issues] == ["calendars[0].timezone"]
        assert "IANA zone" in str(exc)
        return
    assert desk.calendars[0].calendar.timezone == zone
