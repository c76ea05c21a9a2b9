"""The alert rule file: YAML, validated on load, every problem named.

A problem names the file, the rule, the field and what was expected, e.g.
``rules[2] (sla_breach).when.share_used.at_least: expected a number, got 'x'``.
The format and the default rule set are documented in the README ("Alerts").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features.config_text import YamlFileError, read_yaml_file
from features.sla.calendar import BusinessCalendar
from features.sla.calendar_loader import load_calendar
from features.sla.validation import SlaConfigError

Target = Literal["first_response", "next_response", "resolution"]
TARGETS: tuple[Target, ...] = ("first_response", "next_response", "resolution")
Channel = Literal["email", "webhook", "chat"]
PRIORITIES = ("critical", "high", "moderate", "low")


class AlertRulesError(ValueError):
    """The rule file failed validation; the message lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid alert rules {source} ({len(problems)}):\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A closed range; either end may be left out."""

    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.at_least is None and self.at_most is None:
            raise ValueError("expected at_least, at_most or both")
        low, high = self.at_least, self.at_most
        if low is not None and high is not None and low > high:
            raise ValueError(f"expected at_least <= at_most, got {low} > {high}")
        return self

    def holds(self, value: float | None) -> bool:
        """Return whether ``value`` lies in the range (None never does)."""
        if value is None:
            return False
        if self.at_least is not None and value < self.at_least:
            return False
        return self.at_most is None or value <= self.at_most


class Condition(_Strict):
    """What must hold, all at once, for a rule to fire on a running clock."""

    clock: list[Target] | Literal["any"]
    share_used: Range | None = None
    elapsed_hours: Range | None = None
    remaining_hours: Range | None = None
    breached: bool | None = None
    probability: Range | None = None
    time_to_breach_hours: Range | None = None
    time_to_breach_p90_hours: Range | None = None
    priority: list[Literal["critical", "high", "moderate", "low"]] | None = None
    group: list[str] | None = None
    category: list[str] | None = None
    channel: list[str] | None = None
    customer_tier: list[str] | None = None

    @field_validator("clock", mode="before")
    @classmethod
    def _one_clock(cls, value: Any) -> Any:
        # Check by hand: the union's own errors would show the list, not the value.
        if value == "any":
            return value
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list):
            bad = [v for v in items if v not in TARGETS]
            if bad or not items:
                expected = ", ".join(repr(t) for t in ("any", *TARGETS))
                shown = repr(bad[0]) if bad else "[]"
                raise ValueError(
                    f"expected {expected} (or a list of the last three), got {shown}"
                )
        return items

    @property
    def targets(self) -> tuple[Target, ...]:
        """The clocks the condition looks at."""
        return TARGETS if self.clock == "any" else tuple(self.clock)

    @property
    def uses_model(self) -> bool:
        """Whether the condition needs the stall model's output."""
        return any(
            r is not None
            for r in (
                self.probability,
                self.time_to_breach_hours,
                self.time_to_breach_p90_hours,
            )
        )


class Action(_Strict):
    """What a rule does when it fires."""

    mark: Literal["red", "amber"] | None = None
    notify_team: bool = False
    notify: list[str] = []
    escalate_to: list[str] = []
    reassign_to: str | None = None
    raise_priority: bool = False
    urgent: bool = False
    channels: list[Channel] = ["email", "webhook", "chat"]

    @field_validator("escalate_to", "notify", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Rule(_Strict):
    """One alert rule."""

    name: str = Field(pattern=r"^[a-z0-9_\-]{1,60}$")
    description: str = ""
    when: Condition
    then: Action


class Recipient(_Strict):
    """Where a person or team is reached, and when they may be woken."""

    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    webhook: str | None = Field(default=None, pattern=r"^https?://")
    chat: str | None = Field(default=None, pattern=r"^https?://")
    business_hours: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Recipient:
        if not (self.email or self.webhook or self.chat):
            raise ValueError("expected at least one of email, webhook, chat")
        return self


class Routing(_Strict):
    """Who is the ticket's team, and who holds each role."""

    teams: dict[str, str] = {}
    roles: dict[str, str] = {}


class CustomerTemplate(_Strict):
    """A customer update's subject and body (``string.Template``, ``$name``)."""

    subject: str
    body: str


class CustomerUpdates(_Strict):
    """Optional customer-facing status updates, sent through the outbox."""

    enabled: bool = False
    channel: Literal["email", "webhook"] = "email"
    address: str = Field(
        description="Template of the address, e.g. '$requester@example.com'."
    )
    on: list[Literal["handoff", "paused", "silence"]] = ["handoff", "paused", "silence"]
    silence_hours: float = Field(default=24.0, gt=0)
    templates: dict[Literal["handoff", "paused", "silence"], CustomerTemplate]

    @model_validator(mode="after")
    def _templated(self) -> CustomerUpdates:
        missing = [t for t in self.on if t not in self.templates]
        if missing:
            raise ValueError(f"expected a template for: {', '.join(missing)}")
        return self


class RuleFile(_Strict):
    """The whole rule file."""

    version: Literal[1]
    recipients: dict[str, Recipient] = {}
    routing: Routing = Routing()
    rules: list[Rule] = Field(min_length=1)
    customer_updates: CustomerUpdates | None = None

    @model_validator(mode="after")
    def _names_resolve(self) -> RuleFile:
        problems = []
        for where, name in [
            *((f"routing.teams.{g}", r) for g, r in self.routing.teams.items()),
            *((f"routing.roles.{k}", r) for k, r in self.routing.roles.items()),
        ]:
            if name not in self.recipients:
                problems.append(f"{where}: unknown recipient {name!r}")
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            where = f"rules[{i}] ({rule.name})"
            if rule.name in seen:
                problems.append(f"{where}.name: duplicate rule name")
            seen.add(rule.name)
            for role in rule.then.escalate_to:
                if role not in self.routing.roles:
                    problems.append(f"{where}.then.escalate_to: unknown role {role!r}")
            for name in rule.then.notify:
                if name not in self.recipients:
                    problems.append(f"{where}.then.notify: unknown recipient {name!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def uses_model(self) -> bool:
        """Whether any rule needs the stall model."""
        return any(rule.when.uses_model for rule in self.rules)

    def uses_webhooks(self) -> bool:
        """Whether any recipient is reached by a signed webhook."""
        return any(r.webhook for r in self.recipients.values())


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    # Name a rule by its index and name, then the field path inside it.
    parts: list[str] = []
    node = data
    for step in loc:
        # An int is a list index, unless it is a mapping's key (``{0: x}``).
        if isinstance(step, int) and parts and not isinstance(node, dict):
            parts[-1] = f"{parts[-1]}[{step}]"
            item = node[step] if isinstance(node, list) and step < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and parts[-1].startswith("rules["):
                parts[-1] += f" ({name})"
        else:
            parts.append(str(step))
        if isinstance(node, dict | list):
            try:
                node = node[step]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                node = None
    return ".".join(parts) or "<document>"


def _message(error: Any) -> str:
    # Our own checks name the bad value; pydantic's get "; got <value>" added.
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    got = error.get("input")
    shown = repr(got)
    if isinstance(got, dict) or len(shown) > 80:
        return message
    return f"{message}; got {shown}"


def load_rules(data: Any, *, source: str = "alert rules") -> RuleFile:
    """Validate a rule document; raise :class:`AlertRulesError` listing problems."""
    try:
        rules = RuleFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            message = _message(error)
            if not loc and error["type"] == "value_error":
                problems += message.splitlines()  # each names its own place
            else:
                problems += [f"{_where(data, loc)}: {line}" for line in [message]]
        raise AlertRulesError(source, problems) from None
    calendar_problems = []
    for name, recipient in rules.recipients.items():
        if recipient.business_hours is not None:
            try:
                load_calendar(recipient.business_hours, source=source)
            except SlaConfigError as exc:
                calendar_problems += [
                    f"recipients.{name}.business_hours.{i}" for i in exc.issues
                ]
    if calendar_problems:
        raise AlertRulesError(source, calendar_problems)
    return rules


def load_rules_file(path: str | Path) -> RuleFile:
    """Read and validate a YAML rule file."""
    try:
        data = read_yaml_file(Path(path))
    except OSError as exc:
        raise AlertRulesError(f"file {path}", [f"cannot read: {exc}"]) from exc
    except YamlFileError as exc:
        raise AlertRulesError(f"file {path}", [f"not valid YAML: {exc}"]) from exc
    return load_rules(data, source=f"file {path}")


def recipient_calendars(rules: RuleFile) -> dict[str, BusinessCalendar]:
    """Return the business-hours calendar of each recipient that has one."""
    return {
        name: load_calendar(r.business_hours, source=f"recipient {name}")
        for name, r in rules.recipients.items()
        if r.business_hours is not None
    }
