"""Conformance: every shared "sla-case/1" file passes, and the runner can fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from features.sla.cases import load_case, run_case, run_case_directory
from features.sla.validation import SlaConfigError

REPO_ROOT = Path(__file__).resolve().parents[3]
CASE_DIR = (REPO_ROOT / ".." / "shared" / "sla-cases").resolve()
CASE_FILES = sorted(CASE_DIR.glob("*.json"))


def test_case_directory_holds_cases() -> None:
    assert len(CASE_FILES) >= 10, f"expected the shared cases in {CASE_DIR}"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_file_passes(path: Path) -> None:
    outcomes = run_case(load_case(path))

    failed = [
        f"check {o.check_index} {o.field}: expected {o.expected!r}, got {o.got!r}"
        for o in outcomes
        if not o.passed
    ]
    assert outcomes
    assert not failed, "\n".join(failed)


def test_run_case_directory_all_shared_cases_ok() -> None:
    report = run_case_directory(CASE_DIR)

    assert report.ok, report.render()
    assert len(report.files) == len(CASE_FILES)
    assert report.render().splitlines()[-1].startswith("OK: ")


def test_run_case_directory_copy_in_tmp_same_result(tmp_path: Path) -> None:
    source = CASE_FILES[0]
    shutil.copy(source, tmp_path / source.name)

    report = run_case_directory(tmp_path)

    assert report.ok, report.render()
    assert len(report.outcomes) == len(run_case(load_case(source)))


def _altered_copy(tmp_path: Path, field: str, value: object) -> Path:
    # Copy the DST case and change the first check's expected value.
    source = next(p for p in CASE_FILES if "dst" in p.stem)
    data = json.loads(source.read_text(encoding="utf-8"))
    data["checks"][0]["expect"][field] = value
    target = tmp_path / source.name
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due", "2025-03-30T03:30:00+02:00"),
        ("elapsed_minutes", 31),
        ("state", "paused"),
        ("breached", True),
    ],
)
def test_run_case_directory_altered_expectation_fails(
    tmp_path: Path, field: str, value: object
) -> None:
    _altered_copy(tmp_path, field, value)

    report = run_case_directory(tmp_path)

    assert not report.ok
    assert [(o.check_index, o.field) for o in report.failures] == [(0, field)]
    assert "FAIL" in report.render()


def test_run_case_due_compared_as_instant(tmp_path: Path) -> None:
    # The same instant written in UTC still matches.
    _altered_copy(tmp_path, "due", "2025-03-30T02:30:00Z")

    assert run_case_directory(tmp_path).ok


def test_load_case_bad_fields_named_with_file(tmp_path: Path) -> None:
    path = _altered_copy(tmp_path, "state", "paused")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["format"] = "sla-case/2"
    data["checks"][1]["target"] = "resolve"
    data["events"][0]["kind"] = "opened"
    data["calendar"]["week"]["mon"] = [["00:00", "24:30"]]
    data["policy"]["resolution_minutes"] = "4h"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(SlaConfigError, match=r"(?s)dst-night\.json.*format") as info:
        load_case(path)

    assert {issue.field for issue in info.value.issues} == {
        "format",
        "checks[1].target",
        "events[0].kind",
        "calendar.week.mon[0][1]",
        "policy.resolution_minutes",
    }


def test_run_case_directory_reports_bad_file_as_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")

    report = run_case_directory(tmp_path)

    assert not report.ok
    assert len(report.errors) == 1
    assert "broken.json" in report.errors[0]


def test_run_case_directory_empty_directory_not_ok(tmp_path: Path) -> None:
    report = run_case_directory(tmp_path)

    assert not report.ok
    assert "expected a directory with *.json case files" in report.render()
