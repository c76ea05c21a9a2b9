"""Turn a firing rule into a decision: actions, recipients and rendered messages.

E-mails are plain text; webhooks carry a JSON document; chat messages are
Slack-compatible JSON (``text`` plus one ``mrkdwn`` section block).
"""

from __future__ import annotations

import json
from datetime import datetime
from string import Template
from typing import Any

from features.alerts.store import AlertDecision, OutboxMessage
from features.sla.calendar import BusinessCalendar
from models.alerts.evaluate import Firing, TicketView, hold_until, raised
from models.alerts.rules import CustomerUpdates, RuleFile

EMAIL_SUBJECT = Template("[stallwatch] $flag $ticket_id: $rule")
EMAIL_BODY = Template(
    "Ticket $ticket_id ($priority, group $group) needs attention.\n\n"
    "$why\n\nActions: $actions\n\nDecided at $decided_at by stallwatch rule $rule.\n"
)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _actions(firing: Firing, view: TicketView, rules: RuleFile) -> list[dict[str, Any]]:
    then = firing.rule.then
    actions: list[dict[str, Any]] = []
    if then.mark:
        actions.append({"type": "mark", "flag": then.mark})
    for role in then.escalate_to:
        actions.append(
            {"type": "escalate", "role": role, "recipient": rules.routing.roles[role]}
        )
    if then.reassign_to:
        actions.append({"type": "reassign", "group": then.reassign_to})
    if then.raise_priority:
        current = view.fields.get("priority")
        higher = raised(current)
        if higher is not None:
            actions.append({"type": "raise_priority", "from": current, "to": higher})
    return actions


def _recipients(firing: Firing, view: TicketView, rules: RuleFile) -> list[str]:
    then = firing.rule.then
    names: list[str] = []
    if then.notify_team:
        teams = rules.routing.teams
        team = teams.get(view.fields.get("group") or "") or teams.get("*")
        if team:
            names.append(team)
    names += then.notify
    names += [rules.routing.roles[role] for role in then.escalate_to]
    return list(dict.fromkeys(names))


def alert_decision(
    firing: Firing,
    view: TicketView,
    rules: RuleFile,
    calendars: dict[str, BusinessCalendar],
) -> AlertDecision:
    """Build the decision of one firing rule, with every message rendered."""
    rule = firing.rule
    actions = _actions(firing, view, rules)
    names = _recipients(firing, view, rules)
    actions += [{"type": "notify", "recipient": n} for n in names]
    values = {
        "ticket_id": view.ticket_id,
        "rule": rule.name,
        "flag": (rule.then.mark or "note").upper(),
        "why": firing.why,
        "priority": view.fields.get("priority") or "no priority",
        "group": view.fields.get("group") or "none",
        "decided_at": _iso(view.at),
        "actions": "; ".join(_describe(a) for a in actions) or "none",
    }
    document = {
        "event": "stallwatch.alert",
        "ticket_id": view.ticket_id,
        "rule": rule.name,
        "clock": firing.clock,
        "cycle": firing.cycle,
        "flag": rule.then.mark,
        "urgent": rule.then.urgent,
        "why": firing.why,
        "actions": actions,
        "probability": view.probability,
        "decided_at": _iso(view.at),
    }
    messages = []
    for name in names:
        recipient = rules.recipients[name]
        held = None if rule.then.urgent else hold_until(calendars.get(name), view.at)
        subject = EMAIL_SUBJECT.substitute(values)
        for channel in rule.then.channels:
            address = getattr(recipient, channel)
            if not address:
                continue
            if channel == "email":
                body = EMAIL_BODY.substitute(values)
            elif channel == "webhook":
                body = json.dumps(document, sort_keys=True)
            else:
                body = json.dumps(_chat(subject, values))
            messages.append(OutboxMessage(channel, name, address, subject, body, held))
    return AlertDecision(
        ticket_id=view.ticket_id,
        rule=rule.name,
        kind="alert",
        clock=firing.clock,
        cycle=firing.cycle,
        flag=rule.then.mark,
        urgent=rule.then.urgent,
        why=firing.why,
        actions=actions,
        probability=view.probability,
        messages=messages,
        escalations=[(r, rules.routing.roles[r]) for r in rule.then.escalate_to],
    )


def _describe(action: dict[str, Any]) -> str:
    kind = action["type"]
    if kind == "mark":
        return f"mark {action['flag']}"
    if kind == "escalate":
        return f"escalate to {action['role']} ({action['recipient']})"
    if kind == "reassign":
        return f"reassign to {action['group']}"
    if kind == "raise_priority":
        return f"raise priority {action['from']} -> {action['to']}"
    return f"notify {action['recipient']}"


def _chat(subject: str, values: dict[str, str]) -> dict[str, Any]:
    text = f"*{subject}*\n{values['why']}\nActions: {values['actions']}"
    return {
        "text": subject,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def customer_decision(
    trigger: str,
    cycle: str,
    view: TicketView,
    config: CustomerUpdates,
    next_update_due: datetime,
) -> AlertDecision | None:
    """Render a customer update; None when the ticket has no requester to tell."""
    requester = view.fields.get("requester")
    if not requester:
        return None
    values = {
        **{k: v or "" for k, v in view.fields.items()},
        "ticket_id": view.ticket_id,
        "next_update_due": _iso(next_update_due),
    }
    template = config.templates[trigger]  # type: ignore[index]
    subject = Template(template.subject).safe_substitute(values)
    body = Template(template.body).safe_substitute(values)
    address = Template(config.address).safe_substitute(values)
    if config.channel == "webhook":
        body = json.dumps(
            {
                "event": "stallwatch.customer_update",
                "ticket_id": view.ticket_id,
                "trigger": trigger,
                "to": requester,
                "subject": subject,
                "body": body,
            },
            sort_keys=True,
        )
    why = f"customer update ({trigger}): next update due by {values['next_update_due']}"
    return AlertDecision(
        ticket_id=view.ticket_id,
        rule=f"customer_{trigger}",
        kind="customer_update",
        clock=None,
        cycle=cycle,
        flag=None,
        urgent=False,
        why=why,
        messages=[OutboxMessage(config.channel, "customer", address, subject, body)],
    )
