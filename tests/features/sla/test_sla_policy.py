"""SLA policies and policy sets: matching and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.sla.policy import (
    SlaPolicy,
    load_policy,
    load_policy_set,
    load_policy_set_file,
)
from features.sla.validation import SlaConfigError

POLICY_SET = {
    "version": "2025-04",
    "policies": [
        {
            "name": "urgent-gold",
            "match": {"priority": ["critical", "high"], "customer_tier": "gold"},
            "first_response_minutes": 30,
            "resolution_minutes": 480,
            "warn_at_fraction": 0.75,
        },
        {
            "name": "chat",
            "match": {"channel": "chat"},
            "first_response_minutes": 5,
            "next_response_minutes": 10,
            "next_response_mode": "between_agent_updates",
        },
        {
            "name": "default",
            "match": {},
            "resolution_minutes": 2400,
            "pause_statuses": ["waiting_customer"],
        },
    ],
}


def test_policy_set_first_match_wins() -> None:
    policies = load_policy_set(POLICY_SET)

    gold = policies.select(priority="high", customer_tier="gold", channel="chat")
    chat = policies.select(priority="high", customer_tier="silver", channel="chat")
    other = policies.select(priority="low", channel="email")

    assert (gold.name, gold.first_response_minutes) == ("urgent-gold", 30)
    assert (chat.name, chat.follow_up_mode) == ("chat", "between_agent_updates")
    assert other.name == "default"
    assert other.pause_statuses == frozenset({"waiting_customer"})
    assert policies.version == "2025-04"


def test_policy_set_no_match_raises_lookup_error() -> None:
    policies = load_policy_set({"policies": POLICY_SET["policies"][:1]})

    assert policies.match(priority="low") is None
    with pytest.raises(LookupError, match="no SLA policy matches"):
        policies.select(priority="low")


def test_policy_defaults_mode_to_customer_waiting() -> None:
    policy = load_policy({"next_response_minutes": 60})

    assert policy.next_response_mode is None
    assert policy.follow_up_mode == "customer_waiting"
    assert policy.target_minutes("next_response") == 60


def test_policy_updated_replaces_only_given_fields() -> None:
    policy = SlaPolicy(first_response_minutes=60, resolution_minutes=240)

    changed = policy.updated({"resolution_minutes": 2880})

    assert (changed.first_response_minutes, changed.resolution_minutes) == (60, 2880)


def test_policy_updated_unknown_field_rejected() -> None:
    with pytest.raises(SlaConfigError, match="resolution_minute: expected no such"):
        SlaPolicy().updated({"resolution_minute": 10})


def test_load_policy_invalid_fields_all_named() -> None:
    bad = {
        "first_response_minutes": -5,
        "next_response_minutes": "1h",
        "next_response_mode": "sometimes",
        "resolution_minutes": True,
        "pause_statuses": "pending",
        "warn_at_fraction": 1.5,
    }

    with pytest.raises(
        SlaConfigError, match=r"first_response_minutes: expected"
    ) as info:
        load_policy(bad)

    assert {issue.field for issue in info.value.issues} == set(bad)


def test_load_policy_set_invalid_fields_named_with_index() -> None:
    bad = {
        "policies": [
            {"name": "a", "match": {"priority": []}, "resolution_minutes": 10},
            {"match": {"tier": "gold"}, "resolution_minutes": -1},
            "not a policy",
        ]
    }

    with pytest.raises(
        SlaConfigError, match=r"policies\[1\]\.resolution_minutes"
    ) as info:
        load_policy_set(bad)

    assert {issue.field for issue in info.value.issues} == {
        "policies[0].match.priority",
        "policies[1].name",
        "policies[1].match.tier",
        "policies[1].resolution_minutes",
        "policies[2]",
    }


def test_load_policy_set_empty_rejected() -> None:
    with pytest.raises(SlaConfigError, match="policies: expected a non-empty list"):
        load_policy_set({"policies": []})


def test_load_policy_set_file_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        "version: v1\n"
        "policies:\n"
        "  - name: default\n"
        "    match: {}\n"
        "    resolution_minutes: 600\n",
        encoding="utf-8",
    )

    policies = load_policy_set_file(path)

    assert policies.select().resolution_minutes == 600
