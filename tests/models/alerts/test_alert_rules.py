"""The rule file: the shipped defaults load; bad files say what, where, expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.alerts.rules import AlertRulesError, load_rules, load_rules_file
from tests.models.alerts.conftest import DEFAULT_RULES


def test_load_rules_file_default_set_covers_the_classic_and_new_rules() -> None:
    rules = load_rules_file(DEFAULT_RULES)

    names = [r.name for r in rules.rules]
    assert names == [
        "unanswered_24h",
        "sla_warning",
        "sla_breach",
        "critical_breach_on_call",
        "stall_risk_early",
    ]
    classic = rules.rules[0]
    assert classic.when.targets == ("first_response", "next_response")
    assert classic.when.elapsed_hours is not None
    assert classic.when.elapsed_hours.at_least == 24
    assert classic.then.escalate_to == ["shift_manager"]
    assert rules.rules[4].when.uses_model and not rules.rules[1].when.uses_model


def test_load_rules_bad_fields_lists_every_problem_with_rule_and_field() -> None:
    data = {
        "version": 1,
        "recipients": {"team": {"email": "team@example.invalid"}},
        "routing": {"teams": {"*": "team"}},
        "rules": [
            {
                "name": "ok",
                "when": {"clock": "resolution", "breached": True},
                "then": {"notify_team": True},
            },
            {
                "name": "warn",
                "when": {"clock": "resolution", "share_used": {"at_least": "lots"}},
                "then": {"mark": "purple"},
            },
        ],
    }

    with pytest.raises(AlertRulesError, match=r"rules\.yaml") as caught:
        load_rules(data, source="file rules.yaml")

    assert caught.value.problems == [
        "rules[1] (warn).when.share_used.at_least: Input should be a valid "
        "number, unable to parse string as a number; got 'lots'",
        "rules[1] (warn).then.mark: Input should be 'red' or 'amber'; got 'purple'",
    ]


def test_load_rules_unknown_role_and_recipient_are_named() -> None:
    data = {
        "version": 1,
        "recipients": {"team": {"email": "team@example.invalid"}},
        "routing": {"teams": {"*": "nobody"}},
        "rules": [
            {
                "name": "breach",
                "when": {"clock": "any", "breached": True},
                "then": {"escalate_to": "night_manager"},
            }
        ],
    }

    with pytest.raises(AlertRulesError, match="unknown role 'night_manager'") as got:
        load_rules(data)
    assert "routing.teams.*: unknown recipient 'nobody'" in str(got.value)


def test_load_rules_file_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules: [unclosed\n")

    with pytest.raises(AlertRulesError, match=r"(?s)rules\.yaml.*not valid YAML"):
        load_rules_file(path)


def test_load_rules_range_upside_down_is_refused() -> None:
    data = {
        "version": 1,
        "rules": [
            {
                "name": "r",
                "when": {
                    "clock": "any",
                    "probability": {"at_least": 0.9, "at_most": 0.1},
                },
                "then": {},
            }
        ],
    }

    with pytest.raises(
        AlertRulesError,
        match=r"rules\[0\] \(r\)\.when\.probability: .*at_least <= at_most",
    ):
        load_rules(data)


def _one_rule(when: dict[str, object], then: dict[str, object]) -> dict[str, object]:
    return {
        "version": 1,
        "recipients": {"team": {"email": "team@example.invalid"}},
        "routing": {"teams": {"*": "team"}, "roles": {"boss": "team"}},
        "rules": [{"name": "r3", "when": when, "then": then}],
    }


def test_load_rules_file_unknown_channel_names_rule_field_and_choices(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r3.yaml"
    path.write_text(
        "version: 1\nrules:\n  - name: r3\n    when: {clock: any, breached: true}\n"
        "    then: {mark: red, channels: [pigeon]}\n"
    )

    with pytest.raises(AlertRulesError, match=r"r3\.yaml") as caught:
        load_rules_file(path)

    assert caught.value.problems == [
        "rules[0] (r3).then.channels[0]: Input should be 'email', 'webhook' or "
        "'chat'; got 'pigeon'"
    ]


def test_load_rules_unknown_role_shows_the_role_not_the_document() -> None:
    data = _one_rule({"clock": "any"}, {"escalate_to": ["nobody"]})

    with pytest.raises(AlertRulesError) as caught:
        load_rules(data)

    assert caught.value.problems == [
        "rules[0] (r3).then.escalate_to: unknown role 'nobody'"
    ]


def test_load_rules_unknown_clock_shows_the_value() -> None:
    data = _one_rule({"clock": "foo"}, {"mark": "red"})

    with pytest.raises(AlertRulesError) as caught:
        load_rules(data)

    assert caught.value.problems == [
        "rules[0] (r3).when.clock: expected 'any', 'first_response', "
        "'next_response', 'resolution' (or a list of the last three), got 'foo'"
    ]
