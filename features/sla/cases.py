"""Conformance runner for "sla-case/1" files: load, validate, check, report.

Each case file holds a calendar, a policy, one ticket's events and checks of
the form "at this instant, this target reports these values". Only the fields
in a check's ``expect`` are compared; ``due`` is compared as an instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from features.sla.calendar import BusinessCalendar
from features.sla.calendar_loader import load_calendar
from features.sla.clocks import compute_clocks
from features.sla.model import EVENT_KINDS, ClockResult, SlaEvent
from features.sla.policy import TARGETS, SlaPolicy, Target, load_policy
from features.sla.validation import (
    MISSING,
    IssueCollector,
    SlaConfigError,
    check_unknown_keys,
)

Item = TypeVar("Item")

CASE_FORMAT = "sla-case/1"
EXPECT_FIELDS = (
    "state",
    "due",
    "elapsed_minutes",
    "remaining_minutes",
    "breached",
    "warning",
)
_CASE_FIELDS = {
    "format",
    "id",
    "title",
    "calendar",
    "policy",
    "events",
    "checks",
    "also_expect",
}
_EVENT_FIELDS = {"at", "kind", "status", "group", "channel", "policy", "note"}
_CASE_KINDS = (EVENT_KINDS - {"status_changed"}) | {"status"}
_STATES = ("none", "running", "paused", "met", "breached")


@dataclass(frozen=True)
class SlaCheck:
    """One check of a case: a target asked about at an instant."""

    at: datetime
    target: Target
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class SlaCase:
    """A validated case file."""

    path: Path
    id: str
    title: str
    calendar: BusinessCalendar
    policy: SlaPolicy
    events: tuple[SlaEvent, ...]
    checks: tuple[SlaCheck, ...]


def _instant(value: Any, where: str, out: IssueCollector) -> datetime | None:
    expected = "an ISO-8601 instant with offset, e.g. '2025-04-01T09:00:00+02:00'"
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        out.add(where, expected, value)
        return None
    if parsed.tzinfo is None:
        out.add(where, expected, value)
        return None
    return parsed


def _read_event(raw: Any, where: str, out: IssueCollector) -> SlaEvent | None:
    if not isinstance(raw, Mapping):
        out.add(where, "an event mapping with 'at' and 'kind'", raw)
        return None
    check_unknown_keys(raw, _EVENT_FIELDS, prefix=f"{where}.", out=out)
    at = _instant(raw.get("at", MISSING), f"{where}.at", out)
    kind = raw.get("kind", MISSING)
    if kind not in _CASE_KINDS:
        out.add(f"{where}.kind", "one of " + ", ".join(sorted(_CASE_KINDS)), kind)
        return None
    for key in ("status", "group", "channel"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            out.add(f"{where}.{key}", "a string", raw[key])
            return None
    if kind == "status" and not isinstance(raw.get("status"), str):
        out.add(
            f"{where}.status", "the new status for a 'status' event", raw.get("status")
        )
        return None
    policy = raw.get("policy")
    if kind == "policy_changed" and not isinstance(policy, Mapping):
        out.add(f"{where}.policy", "a mapping of changed policy fields", policy)
        return None
    if at is None:
        return None
    return SlaEvent(
        at=at,
        kind="status_changed" if kind == "status" else kind,
        status=raw.get("status"),
        group=raw.get("group"),
        channel=raw.get("channel"),
        policy=policy,
    )


def _read_list(
    data: Mapping[str, Any],
    key: str,
    read: Callable[[Any, str, IssueCollector], Item | None],
    out: IssueCollector,
) -> list[Item]:
    """Read the non-empty list ``data[key]``, one item at a time."""
    raw_items = data.get(key, MISSING)
    if not isinstance(raw_items, list) or not raw_items:
        out.add(key, f"a non-empty list of {key}", raw_items)
        return []
    items = [read(raw, f"{key}[{i}]", out) for i, raw in enumerate(raw_items)]
    return [item for item in items if item is not None]


def _read_check(raw: Any, where: str, out: IssueCollector) -> SlaCheck | None:
    if not isinstance(raw, Mapping):
        out.add(where, "a check mapping with 'at', 'target' and 'expect'", raw)
        return None
    check_unknown_keys(raw, {"at", "target", "expect"}, prefix=f"{where}.", out=out)
    at = _instant(raw.get("at", MISSING), f"{where}.at", out)
    target = raw.get("target", MISSING)
    if target not in TARGETS:
        out.add(f"{where}.target", "one of " + ", ".join(TARGETS), target)
    expect = raw.get("expect", MISSING)
    if not isinstance(expect, Mapping) or not expect:
        out.add(f"{where}.expect", "a non-empty mapping of expected fields", expect)
        return None
    check_unknown_keys(expect, set(EXPECT_FIELDS), prefix=f"{where}.expect.", out=out)

    # Types of expected values.
    for key, value in expect.items():
        path = f"{where}.expect.{key}"
        if key == "state" and value not in _STATES:
            out.add(path, "one of " + ", ".join(_STATES), value)
        elif key == "due" and value is not None:
            _instant(value, path, out)
        elif key in ("elapsed_minutes", "remaining_minutes") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            out.add(path, "a number of business minutes", value)
        elif key in ("breached", "warning") and not isinstance(value, bool):
            out.add(path, "true or false", value)
    if at is None or target not in TARGETS:
        return None
    return SlaCheck(at=at, target=target, expect=dict(expect))


def load_case(path: str | Path) -> SlaCase:
    """Read and validate one case file.

    Raises
    ------
    SlaConfigError
        Naming the file and every bad field.
    """
    path = Path(path)
    out = IssueCollector(f"case file {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        # RecursionError: arrays or objects nested deeper than the parser goes.
        out.add("<document>", f"readable JSON ({exc})", str(path))
        out.raise_if_any()
    if not isinstance(data, dict):
        out.add("<document>", "a JSON object", data)
        out.raise_if_any()

    # Header fields.
    check_unknown_keys(data, _CASE_FIELDS, prefix="", out=out)
    if data.get("format", MISSING) != CASE_FORMAT:
        out.add("format", repr(CASE_FORMAT), data.get("format", MISSING))
    case_id = data.get("id", MISSING)
    if not isinstance(case_id, str) or not case_id:
        out.add("id", "a short kebab-case case name", case_id)

    # Calendar and policy reuse their own loaders; collect their issues too.
    calendar = policy = None
    try:
        calendar = load_calendar(
            data.get("calendar", MISSING), source=out.source, prefix="calendar."
        )
    except SlaConfigError as exc:
        out.issues.extend(exc.issues)
    try:
        policy = load_policy(
            data.get("policy", MISSING), source=out.source, prefix="policy."
        )
    except SlaConfigError as exc:
        out.issues.extend(exc.issues)

    # Events and checks.
    events = _read_list(data, "events", _read_event, out)
    if events and events[0].kind != "created":
        out.add(
            "events[0].kind",
            "'created' (the timeline starts at creation)",
            events[0].kind,
        )
    checks = _read_list(data, "checks", _read_check, out)

    out.raise_if_any()
    assert calendar is not None and policy is not None
    return SlaCase(
        path=path,
        id=case_id,
        title=str(data.get("title", "")),
        calendar=calendar,
        policy=policy,
        events=tuple(events),
        checks=tuple(checks),
    )


@dataclass(frozen=True)
class CheckOutcome:
    """The comparison of one expected field of one check."""

    case_id: str
    file: str
    check_index: int
    target: str
    at: str
    field: str
    expected: Any
    got: Any
    passed: bool


def _same(field_name: str, expected: Any, got: Any) -> bool:
    if field_name == "due":
        if expected is None or got is None:
            return expected is None and got is None
        return bool(datetime.fromisoformat(expected) == got)
    if field_name in ("elapsed_minutes", "remaining_minutes"):
        return got is not None and abs(float(got) - float(expected)) < 1e-9
    return bool(expected == got)


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def run_case(case: SlaCase) -> list[CheckOutcome]:
    """Run every check of a case and compare the expected fields."""
    outcomes: list[CheckOutcome] = []
    for index, check in enumerate(case.checks):
        clocks = compute_clocks(
            calendar=case.calendar, policy=case.policy, events=case.events, at=check.at
        )
        result: ClockResult = clocks[check.target]
        for name, expected in check.expect.items():
            got = getattr(result, name)
            outcomes.append(
                CheckOutcome(
                    case_id=case.id,
                    file=case.path.name,
                    check_index=index,
                    target=check.target,
                    at=check.at.isoformat(),
                    field=name,
                    expected=expected,
                    got=_shown(got),
                    passed=_same(name, expected, got),
                )
            )
    return outcomes


@dataclass
class CaseReport:
    """Outcome of a case directory: every compared field and every file error."""

    directory: str
    files: list[str] = field(default_factory=list)
    outcomes: list[CheckOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckOutcome]:
        """The compared fields that did not match."""
        return [o for o in self.outcomes if not o.passed]

    @property
    def ok(self) -> bool:
        """True when at least one case ran, nothing failed and no file was bad."""
        return bool(self.outcomes) and not self.failures and not self.errors

    def render(self) -> str:
        """Return a readable multi-line summary for a terminal."""
        lines: list[str] = []
        by_case: dict[str, list[CheckOutcome]] = {}
        for outcome in self.outcomes:
            by_case.setdefault(f"{outcome.file} ({outcome.case_id})", []).append(
                outcome
            )
        for name, outcomes in by_case.items():
            failed = [o for o in outcomes if not o.passed]
            checks = len({o.check_index for o in outcomes})
            lines.append(f"{'FAIL' if failed else 'ok  '} {name}: {checks} checks")
            for o in failed:
                lines.append(
                    f"     check {o.check_index} ({o.target} at {o.at}) {o.field}: "
                    f"expected {o.expected!r}, got {o.got!r}"
                )
        lines.extend(f"ERROR {error}" for error in self.errors)
        passed = len(self.outcomes) - len(self.failures)
        lines.append(
            f"{'OK' if self.ok else 'FAILED'}: {len(self.files)} case files, "
            f"{passed}/{len(self.outcomes)} fields match, {len(self.errors)} errors"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def run_case_directory(path: str | Path) -> CaseReport:
    """Load every ``*.json`` case in a directory, run it and report.

    Parameters
    ----------
    path : str or Path
        Directory holding "sla-case/1" files.

    Returns
    -------
    CaseReport
        Bad files and engine errors are reported in ``errors``, not raised.
    """
    directory = Path(path)
    report = CaseReport(directory=str(directory))
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        report.errors.append(
            f"{directory}: expected a directory with *.json case files"
        )
        return report

    for file in files:
        report.files.append(file.name)
        try:
            case = load_case(file)
        except SlaConfigError as exc:
            report.errors.append(str(exc))
            continue
        try:
            report.outcomes.extend(run_case(case))
        except (ValueError, ArithmeticError) as exc:
            report.errors.append(f"{file.name}: engine failed: {exc}")
    return report
