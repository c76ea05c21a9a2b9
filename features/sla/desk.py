"""A desk's SLA set-up applied to canonical events: calendars, policies, clocks.

A desk configuration (YAML) names the calendar versions with the instant each
came into force, the policy set, and which canonical event kinds count as an
agent's response::

    name: uci-service-desk
    response_kinds: [agent_reply, status_changed, assigned]
    calendars:
      - {version: "2016-01", effective_from: "2000-01-01T00:00:00Z",
         timezone: UTC, week: "24/7"}
    policies:
      version: "1"
      policies:
        - {name: all, match: {}, resolution_minutes: 4320}

A ticket's clocks use the calendar version in force when it was created, and
the policy that its priority, category, channel, group and customer tier
select; when one of those changes, the newly selected policy applies from each
clock's start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from features.events import EventKind
from features.sla.calendar import BusinessCalendar
from features.sla.calendar_loader import load_calendar
from features.sla.model import EVENT_KINDS, SlaEvent
from features.sla.policy import PolicySet, SlaPolicy, load_policy_set
from features.sla.validation import (
    IssueCollector,
    check_unknown_keys,
    read_mapping_file,
)

_DESK_FIELDS = {"name", "response_kinds", "calendars", "policies"}
_MATCHED = ("priority", "category", "channel", "group", "customer_tier")


@dataclass(frozen=True)
class CalendarVersion:
    """A calendar and the instant from which it is in force."""

    effective_from: datetime
    calendar: BusinessCalendar


@dataclass(frozen=True)
class SlaDesk:
    """One desk's SLA set-up."""

    name: str
    calendars: tuple[CalendarVersion, ...]
    policies: PolicySet
    response_kinds: frozenset[str]

    def calendar_at(self, instant: datetime) -> BusinessCalendar:
        """Return the calendar version in force at ``instant``."""
        in_force = [c for c in self.calendars if c.effective_from <= instant]
        chosen = in_force[-1] if in_force else self.calendars[0]
        return chosen.calendar

    @cached_property
    def _selected(self) -> dict[tuple[str | None, ...], SlaPolicy]:
        return {}

    def policy_for(self, state: Mapping[str, Any]) -> SlaPolicy:
        """Return the policy a ticket with these attributes falls under."""
        key = tuple(_text(state.get(k)) for k in _MATCHED)
        policy = self._selected.get(key)
        if policy is None:
            policy = self.policies.select(**dict(zip(_MATCHED, key, strict=True)))
            self._selected[key] = policy
        return policy

    def sla_events(
        self, records: Sequence[Mapping[str, Any]]
    ) -> tuple[SlaPolicy, list[SlaEvent]]:
        """Translate one ticket's canonical events for the clock engine.

        Parameters
        ----------
        records : sequence of mapping
            The ticket's canonical events as records, ordered by time and
            sequence.

        Returns
        -------
        policy : SlaPolicy
            The policy selected at creation.
        events : list of SlaEvent
            Starting with ``created``. A response kind by an agent becomes an
            ``agent_reply``; a status is passed on only where it changes; a
            change of the selected policy becomes a ``policy_changed``.
        """
        # Attributes carry forward: an event that omits one keeps the last value.
        state: dict[str, Any] = {}
        for key in _MATCHED:
            state[key] = _text(records[0].get(key))
        policy = self.policy_for(state)
        current, status = policy, None
        out: list[SlaEvent] = []
        for i, row in enumerate(records):
            for key in _MATCHED:
                state[key] = _text(row.get(key)) or state[key]
            at = pd.Timestamp(row["occurred_at"]).to_pydatetime()
            kind = _engine_kind(row, self.response_kinds)
            if i == 0 and kind in _FINAL_KINDS:
                # A stream starts at its first event; one that ends the ticket
                # (a merge, a resolve, a close) still ends it there.
                out.append(SlaEvent(at=at, kind="created"))
            elif i == 0:
                kind = "created"
            new_status = _text(row.get("status"))
            carried = new_status if new_status != status else None
            status = new_status or status
            if kind == "status_changed" and carried is None:
                kind = "internal_note"
            if kind is not None:
                out.append(SlaEvent(at=at, kind=kind, status=carried))
            elif carried is not None:
                out.append(SlaEvent(at=at, kind="status_changed", status=carried))
            selected = self.policy_for(state)
            if i > 0 and selected != current:
                fields = {
                    k: (sorted(v) if isinstance(v, frozenset) else v)
                    for k, v in asdict(selected).items()
                }
                out.append(SlaEvent(at=at, kind="policy_changed", policy=fields))
                current = selected
        return policy, out


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


#: Engine kinds that stop every clock, even as a ticket's first event.
_FINAL_KINDS = frozenset({"merged", "resolved", "closed"})


def _engine_kind(row: Mapping[str, Any], response_kinds: frozenset[str]) -> str | None:
    kind = str(row["kind"])
    if kind in response_kinds and _text(row.get("actor_role")) in ("agent", None):
        return "agent_reply"
    if kind in (EventKind.SLA_BREACHED, EventKind.POLICY_CHANGED):
        return None
    return kind if kind in EVENT_KINDS and kind != "created" else "internal_note"


def load_desk(data: Mapping[str, Any], *, source: str = "desk") -> SlaDesk:
    """Build a desk from its configuration document, listing every bad field."""
    from features.sla.validation import SlaConfigError

    out = IssueCollector(source)
    out.require_mapping(data, prefix="", expected="a desk configuration mapping")
    check_unknown_keys(data, _DESK_FIELDS, prefix="", out=out)

    kinds = data.get("response_kinds", ["agent_reply"])
    if not isinstance(kinds, list) or not all(
        isinstance(k, str) and k in EVENT_KINDS for k in kinds
    ):
        known = ", ".join(sorted(EVENT_KINDS))
        out.add("response_kinds", f"a list of event kinds ({known})", kinds)
        kinds = ["agent_reply"]

    calendars: list[CalendarVersion] = []
    raw_calendars = data.get("calendars")
    if not isinstance(raw_calendars, list) or not raw_calendars:
        out.add("calendars", "a non-empty list of calendar versions", raw_calendars)
        raw_calendars = []
    for i, raw in enumerate(raw_calendars):
        where = f"calendars[{i}]"
        if not isinstance(raw, Mapping):
            out.add(where, "a calendar mapping", raw)
            continue
        start = _instant(raw.get("effective_from"), f"{where}.effective_from", out)
        document = {k: v for k, v in raw.items() if k != "effective_from"}
        try:
            calendar = load_calendar(document, source=source, prefix=f"{where}.")
        except SlaConfigError as exc:
            out.issues.extend(exc.issues)
            continue
        if start is not None:
            calendars.append(CalendarVersion(start, calendar))

    policies = None
    try:
        policies = load_policy_set(data.get("policies") or {}, source=source)
    except SlaConfigError as exc:
        out.issues.extend(
            type(issue)(f"policies.{issue.field}", issue.expected, issue.got)
            for issue in exc.issues
        )
    out.raise_if_any()
    assert policies is not None
    return SlaDesk(
        name=str(data.get("name") or "desk"),
        calendars=tuple(sorted(calendars, key=lambda c: c.effective_from)),
        policies=policies,
        response_kinds=frozenset(kinds),
    )


def _instant(value: Any, where: str, out: IssueCollector) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            out.add(where, "an ISO-8601 instant with an offset", value)
            return None
    if parsed.tzinfo is None:
        out.add(where, "an ISO-8601 instant with an offset", value)
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC year
        out.add(
            where, "an ISO-8601 instant with an offset, in the years 1-9999 UTC", value
        )
        return None


def load_desk_file(path: str | Path) -> SlaDesk:
    """Read a desk configuration from a YAML or JSON file."""
    data = read_mapping_file(path, what="desk configuration")
    return load_desk(data, source=f"desk file {path}")
