"""Fuzzing the alert rule file loader: every bad file is one clear AlertRulesError.

Random YAML, mutated copies of the default rules and of a full rule file
(recipients with quiet hours, routing, customer updates), and damaged bytes
go through :func:`load_rules_file`. Each must load, or be refused with an
:class:`AlertRulesError` naming the file and, for every problem, the place
(rule, field) and what was expected; no other exception may escape.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, example, given, settings

from models.alerts.rules import AlertRulesError, load_rules_file, recipient_calendars
from tests.models.alerts.conftest import DEFAULT_RULES
from tests.yaml_documents import (
    FUZZ_SETTINGS,
    ZONE_NAMES,
    dump,
    laughs,
    yaml_files,
)

#: Every section of the format, as the README documents it.
FULL_RULES: dict[str, Any] = {
    "version": 1,
    "recipients": {
        "support-team": {
            "email": "support-team@example.invalid",
            "chat": "https://chat.example.invalid/hooks/abc",
            "business_hours": {
                "timezone": "Europe/Berlin",
                "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]},
                "holidays": ["2025-12-24"],
            },
        },
        "shift-manager": {
            "email": "shift.manager@example.invalid",
            "webhook": "https://crm.example.invalid/stallwatch",
        },
    },
    "routing": {
        "teams": {"Network": "support-team", "*": "support-team"},
        "roles": {"shift_manager": "shift-manager"},
    },
    "rules": [
        {
            "name": "sla_warning",
            "when": {
                "clock": "any",
                "share_used": {"at_least": 0.75},
                "breached": False,
                "priority": ["critical", "high"],
            },
            "then": {"mark": "amber", "notify_team": True, "channels": ["email"]},
        },
        {
            "name": "stall_risk",
            "when": {
                "clock": ["resolution"],
                "probability": {"at_least": 0.6, "at_most": 1},
                "time_to_breach_hours": {"at_most": 8},
            },
            "then": {
                "mark": "red",
                "escalate_to": "shift_manager",
                "notify": ["support-team"],
                "urgent": True,
            },
        },
    ],
    "customer_updates": {
        "enabled": True,
        "channel": "email",
        "address": "$requester@customers.example.invalid",
        "on": ["handoff", "paused", "silence"],
        "silence_hours": 24,
        "templates": {
            "handoff": {"subject": "Ticket $ticket_id", "body": "With $group."},
            "paused": {"subject": "...", "body": "..."},
            "silence": {"subject": "...", "body": "..."},
        },
    },
}
VALID = [yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8")), FULL_RULES]


@pytest.fixture(scope="module")
def rules_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each example's rule file is written."""
    return tmp_path_factory.mktemp("rules-fuzz") / "rules.yaml"


def _load_or_refuse(path: Path, content: bytes) -> str:
    # The property: rules, or one AlertRulesError that names every place.
    path.write_bytes(content)
    try:
        rules = load_rules_file(path)
    except AlertRulesError as exc:
        assert str(path) in str(exc)
        assert exc.problems
        for problem in exc.problems:
            place, _, message = problem.partition(": ")
            assert place.strip() and message.strip(), problem
        return "refused at " + exc.problems[0].split(".")[0].split("[")[0][:20]
    assert rules.rules
    recipient_calendars(rules)
    rules.uses_model()
    rules.uses_webhooks()
    return "loaded"


def test_rule_files_valid_load_as_they_are(rules_path: Path) -> None:
    for document in VALID:
        assert _load_or_refuse(rules_path, dump(document).encode()) == "loaded"


@settings(FUZZ_SETTINGS, max_examples=150)
@given(content=yaml_files(VALID))
def test_rule_file_fuzzed_loads_or_names_each_bad_field(
    rules_path: Path, content: bytes
) -> None:
    event(_load_or_refuse(rules_path, content))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        # found by the fuzzer: RecursionError from PyYAML
        (b"[" * 5_000, r"not valid YAML: line 1, column 51: expected at most 50"),
        # found by the fuzzer: UnicodeDecodeError
        (b"version: 1\n\xff\n", r"not valid YAML: line 2: expected UTF-8 text"),
        # ValueError from PyYAML building an impossible date
        (b"version: 2016-02-30\n", r"line 1, column 10: expected a !!timestamp"),
        # minutes of work and gigabytes: nine aliases of nine aliases of ...
        (laughs("rules"), r"expected at most 100000 values once aliases are expanded"),
    ],
)
def test_rule_file_regression_refused_naming_the_line(
    rules_path: Path, content: bytes, problem: str
) -> None:
    rules_path.write_bytes(content)

    with pytest.raises(AlertRulesError, match=r"rules\.yaml") as caught:
        load_rules_file(rules_path)

    [only] = caught.value.problems
    assert re.search(problem, only), only


@settings(FUZZ_SETTINGS, max_examples=60)
@given(zone=ZONE_NAMES)
# found by reading the calendar loader: IsADirectoryError from ZoneInfo
@example(zone="America")
def test_rule_file_any_quiet_hours_zone_loads_or_names_the_field(
    rules_path: Path, zone: str
) -> None:
    document = copy.deepcopy(FULL_RULES)
    document["recipients"]["support-team"]["business_hours"]["timezone"] = zone
    rules_path.write_bytes(dump(document).encode())

    try:
        rules = load_rules_file(rules_path)
    except AlertRulesError as exc:
        [problem] = exc.problems
        assert problem.startswith(
            "recipients.support-team.business_hours.timezone: expected an IANA zone"
        ), problem
        return
    assert recipient_calendars(rules)["support-team"].timezone == zone
