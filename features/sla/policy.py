"""SLA policies (targets in business minutes) and ordered policy sets.

A policy set document looks like::

    version: "2025-04"
    policies:
      - name: urgent-gold
        match: {priority: [critical, high], customer_tier: gold}
        first_response_minutes: 60
        next_response_minutes: 120
        next_response_mode: customer_waiting
        resolution_minutes: 960
        pause_statuses: [waiting_customer]
        warn_at_fraction: 0.8
      - name: default
        match: {}
        resolution_minutes: 2400

The first policy whose every match condition holds wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from features.sla.validation import (
    IssueCollector,
    check_unknown_keys,
    read_mapping_file,
)

Target = Literal["first_response", "next_response", "resolution"]
NextResponseMode = Literal["customer_waiting", "between_agent_updates"]

TARGETS: tuple[Target, ...] = ("first_response", "next_response", "resolution")
NEXT_RESPONSE_MODES: tuple[NextResponseMode, ...] = (
    "customer_waiting",
    "between_agent_updates",
)
MATCH_FIELDS = ("priority", "category", "channel", "group", "customer_tier")

_MINUTE_FIELDS = (
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
)
POLICY_FIELDS = frozenset(
    {
        *_MINUTE_FIELDS,
        "next_response_mode",
        "pause_statuses",
        "warn_at_fraction",
        "name",
    }
)


@dataclass(frozen=True)
class SlaPolicy:
    """Targets of one SLA policy.

    Attributes
    ----------
    first_response_minutes, next_response_minutes, resolution_minutes : float or None
        Targets in business minutes; None means no such target.
    next_response_mode : {"customer_waiting", "between_agent_updates"} or None
        How follow-up clocks start; None reads as ``"customer_waiting"``.
    pause_statuses : frozenset of str
        Ticket statuses in which no clock counts.
    warn_at_fraction : float or None
        Share of a target, in (0, 1], after which an open clock shows a warning.
    name : str or None
        Policy name, for reports.
    """

    first_response_minutes: float | None = None
    next_response_minutes: float | None = None
    next_response_mode: NextResponseMode | None = None
    resolution_minutes: float | None = None
    pause_statuses: frozenset[str] = field(default_factory=frozenset)
    warn_at_fraction: float | None = None
    name: str | None = None

    @property
    def follow_up_mode(self) -> NextResponseMode:
        """The next-response mode in force (``customer_waiting`` when unset)."""
        return self.next_response_mode or "customer_waiting"

    def target_minutes(self, target: Target) -> float | None:
        """Return the target in business minutes for a clock kind, or None."""
        return {
            "first_response": self.first_response_minutes,
            "next_response": self.next_response_minutes,
            "resolution": self.resolution_minutes,
        }[target]

    def updated(
        self, changes: Mapping[str, Any], *, source: str = "policy"
    ) -> SlaPolicy:
        """Return a copy with the fields in ``changes`` replaced, validated."""
        fields = _read_policy_fields(changes, IssueCollector(source), prefix="")
        return replace(self, **fields)


def _read_policy_fields(
    data: Mapping[str, Any], out: IssueCollector, *, prefix: str, raise_now: bool = True
) -> dict[str, Any]:
    # Validate the policy fields present in ``data``; absent ones are left out.
    fields: dict[str, Any] = {}
    for key in _MINUTE_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if value is None:
            fields[key] = None
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= 0
        ):
            fields[key] = value
        else:
            out.add(
                f"{prefix}{key}", "business minutes as a number >= 0, or null", value
            )

    if "next_response_mode" in data:
        mode = data["next_response_mode"]
        if mode is not None and mode not in NEXT_RESPONSE_MODES:
            expected = " or ".join(repr(m) for m in NEXT_RESPONSE_MODES) + ", or null"
            out.add(f"{prefix}next_response_mode", expected, mode)
        else:
            fields["next_response_mode"] = mode

    if "pause_statuses" in data:
        statuses = data["pause_statuses"]
        if statuses is None:
            fields["pause_statuses"] = frozenset()
        elif not isinstance(statuses, list) or not all(
            isinstance(s, str) for s in statuses
        ):
            out.add(f"{prefix}pause_statuses", "a list of status names", statuses)
        else:
            fields["pause_statuses"] = frozenset(statuses)

    if "warn_at_fraction" in data:
        fraction = data["warn_at_fraction"]
        ok = fraction is None or (
            not isinstance(fraction, bool)
            and isinstance(fraction, int | float)
            and 0 < fraction <= 1
        )
        if ok:
            fields["warn_at_fraction"] = fraction
        else:
            out.add(
                f"{prefix}warn_at_fraction", "a number in (0, 1], or null", fraction
            )

    if "name" in data:
        if data["name"] is not None and not isinstance(data["name"], str):
            out.add(f"{prefix}name", "a string", data["name"])
        else:
            fields["name"] = data["name"]

    if raise_now:
        check_unknown_keys(data, set(POLICY_FIELDS), prefix=prefix, out=out)
        out.raise_if_any()
    return fields


def load_policy(
    data: Mapping[str, Any], *, source: str = "policy", prefix: str = ""
) -> SlaPolicy:
    """Build an :class:`SlaPolicy` from a mapping of policy fields.

    Raises
    ------
    SlaConfigError
        Listing every bad field with what was expected.
    """
    out = IssueCollector(source)
    out.require_mapping(data, prefix=prefix, expected="a mapping of policy fields")
    return SlaPolicy(**_read_policy_fields(data, out, prefix=prefix))


@dataclass(frozen=True)
class PolicyRule:
    """A policy with the ticket attributes it applies to.

    ``match`` maps an attribute (priority, category, channel, group,
    customer_tier) to its allowed values; an empty match applies to every ticket.
    """

    name: str
    match: Mapping[str, frozenset[str]]
    policy: SlaPolicy

    def matches(self, attributes: Mapping[str, str | None]) -> bool:
        """Return whether a ticket with these attributes falls under this rule."""
        return all(
            attributes.get(key) in allowed for key, allowed in self.match.items()
        )


@dataclass(frozen=True)
class PolicySet:
    """Ordered policy rules; the first matching rule wins."""

    rules: tuple[PolicyRule, ...]
    version: str = "unversioned"

    def match(
        self,
        *,
        priority: str | None = None,
        category: str | None = None,
        channel: str | None = None,
        group: str | None = None,
        customer_tier: str | None = None,
    ) -> PolicyRule | None:
        """Return the first rule matching the ticket, or None."""
        attributes = {
            "priority": priority,
            "category": category,
            "channel": channel,
            "group": group,
            "customer_tier": customer_tier,
        }
        return next((r for r in self.rules if r.matches(attributes)), None)

    def select(self, **attributes: str | None) -> SlaPolicy:
        """Return the policy of the first matching rule.

        Raises
        ------
        LookupError
            When no rule matches; add a final rule with ``match: {}``.
        """
        rule = self.match(**attributes)
        if rule is None:
            raise LookupError(
                f"no SLA policy matches ticket {attributes}; "
                "expected a rule with 'match: {}' at the end of the policy set"
            )
        return replace(rule.policy, name=rule.policy.name or rule.name)


def _read_match(
    raw: Any, out: IssueCollector, prefix: str
) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        out.add(
            prefix.rstrip("."), "a mapping attribute -> value or list of values", raw
        )
        return {}
    check_unknown_keys(raw, set(MATCH_FIELDS), prefix=prefix, out=out)
    match: dict[str, frozenset[str]] = {}
    for key in MATCH_FIELDS:
        if key not in raw:
            continue
        value = raw[key]
        values = [value] if isinstance(value, str) else value
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            out.add(f"{prefix}{key}", "a value or a non-empty list of strings", value)
            continue
        match[key] = frozenset(values)
    return match


def load_policy_set(
    data: Mapping[str, Any], *, source: str = "policy set"
) -> PolicySet:
    """Build a :class:`PolicySet` from a policy set document.

    Raises
    ------
    SlaConfigError
        Listing every bad field (``policies[2].resolution_minutes`` ...) at once.
    """
    out = IssueCollector(source)
    if not isinstance(data, Mapping):
        out.add("<document>", "a mapping with 'version' and 'policies'", data)
        out.raise_if_any()
    check_unknown_keys(data, {"version", "policies"}, prefix="", out=out)
    raw_rules = data.get("policies")
    if not isinstance(raw_rules, list) or not raw_rules:
        out.add("policies", "a non-empty list of policies", raw_rules)
        raw_rules = []
    version = data.get("version", "unversioned")
    if not isinstance(version, str):
        out.add("version", "a string", version)

    rules: list[PolicyRule] = []
    for i, raw in enumerate(raw_rules):
        prefix = f"policies[{i}]."
        if not isinstance(raw, Mapping):
            out.add(f"policies[{i}]", "a mapping of policy fields", raw)
            continue
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            out.add(f"{prefix}name", "a non-empty policy name", name)
        match = _read_match(raw.get("match"), out, f"{prefix}match.")
        policy_data = {k: v for k, v in raw.items() if k != "match"}
        fields = _read_policy_fields(policy_data, out, prefix=prefix, raise_now=False)
        check_unknown_keys(policy_data, set(POLICY_FIELDS), prefix=prefix, out=out)
        rules.append(PolicyRule(str(name), match, SlaPolicy(**fields)))
    out.raise_if_any()
    return PolicySet(tuple(rules), version)


def load_policy_set_file(path: str | Path) -> PolicySet:
    """Read a policy set from a YAML or JSON file (see :func:`load_policy_set`)."""
    data = read_mapping_file(path, what="policy set")
    return load_policy_set(data, source=f"policy set file {path}")
