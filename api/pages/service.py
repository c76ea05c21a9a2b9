"""Gather what each page shows from the stall and report services."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from api.errors import ApiError
from api.pages import charts
from api.pages import format as fmt
from api.pages.schemas import (
    ChoicesOut,
    Flag,
    Sort,
    StallListOut,
    StallRowOut,
    TimeToBreachOut,
)
from api.tickets.service import ticket_errors
from models.reports import ReportService
from models.service import StallService
from models.story import Story, list_details, ticket_story


class ReportNotFoundError(ApiError):
    """No report has that name."""

    status_code = 404
    code = "not_found"


def stall_list(
    service: StallService,
    *,
    at: datetime,
    group: str | None,
    flag: Flag | None,
    category: str | None,
    channel: str | None,
    sort: Sort,
    limit: int,
) -> StallListOut:
    """Return the ranked open tickets with countdowns and reasons in words."""
    page = service.escalations(
        at=at, group=group, category=category, channel=channel, flag=flag, limit=limit
    )
    details = list_details(service, [i.ticket_id for i in page.items], at=at)
    rows = []
    for item in page.items:
        detail = details.get(item.ticket_id)
        text, urgency = fmt.countdown(
            at=at,
            minutes_to_due=detail.minutes_to_due if detail else None,
            paused=detail.paused if detail else False,
            breached_since=item.fields.get("sla_breached_since"),
            paused_minutes_left=detail.paused_minutes_left if detail else None,
        )
        rows.append(
            StallRowOut(
                rank=item.rank,
                ticket_id=item.ticket_id,
                flag=item.why.flag,  # type: ignore[arg-type]
                why=item.why.explanation,
                probability=item.probability,
                risk_band=item.band,
                reasons=[r.text for r in item.reasons],
                owner=detail.owner if detail else None,
                group=item.fields.get("group"),
                channel=item.fields.get("channel"),
                category=item.fields.get("category"),
                priority=item.fields.get("priority"),
                status=item.fields.get("status"),
                age_hours=float(item.fields.get("age_hours") or 0.0),
                countdown=text,
                urgency=round(urgency, 1),
                breached=item.fields.get("sla_breached_since") is not None,
                time_to_breach=_time_to_breach(item),
                feedback=_feedback(item.fields.get("feedback")),
            )
        )
    rows = _sorted(rows, sort)
    return StallListOut(
        as_of=at,
        model_version=page.model_version,
        total=page.total,
        shown=len(rows),
        counts=dict(Counter(r.flag for r in rows)),
        rows=rows,
    )


def choices(reports: ReportService) -> ChoicesOut:
    """Return the values the list's filters offer."""
    return ChoicesOut(
        groups=reports.choices("group"),
        categories=reports.choices("category"),
        channels=reports.choices("channel"),
    )


def story(service: StallService, ticket_id: str, *, at: datetime) -> dict[str, Any]:
    """Return the story page's context: events, group path, clocks and scores."""
    with ticket_errors(at):
        told: Story = ticket_story(service, ticket_id, at=at)
        clocks = service.ticket_sla(ticket_id, at=at)
    steps = [(fmt.instant(t), group, later) for t, group, later in told.group_path]
    groups = [g for _, g, later in told.group_path if not later]
    returns = sum(1 for i, g in enumerate(groups) if g in groups[:i])
    score_chart = charts.line_chart(
        [p.at.strftime("%m-%d %H:%M") for p in told.scores],
        [round(p.probability * 100, 1) for p in told.scores],
        label="stall probability in per cent after each event",
    )
    return {
        "story": told,
        "score_chart": score_chart,
        "path_chart": charts.group_path(
            steps, label="the groups the ticket went through"
        ),
        "clocks": clocks,
        "steps": steps,
        "returns": returns,
        "handoffs": max(0, len(groups) - 1),
        "known_events": [e for e in told.events if not e.after_moment],
        "later_events": [e for e in told.events if e.after_moment],
    }


def _time_to_breach(item: Any) -> TimeToBreachOut | None:
    """Read the predicted time to breach where the escalation item carries one."""
    value = getattr(item, "time_to_breach", None)
    if value is None:
        value = item.fields.get("time_to_breach")
    if value is None:
        return None
    if not isinstance(value, dict):
        value = vars(value)
    if value.get("median_business_hours") is None:
        return None
    return TimeToBreachOut(
        median_business_hours=float(value["median_business_hours"]),
        p90_business_hours=None
        if value.get("p90_business_hours") is None
        else float(value["p90_business_hours"]),
    )


def _feedback(record: dict[str, Any] | None) -> str | None:
    """Say who did what to the ticket last, if anyone did."""
    if not record:
        return None
    action = {"acknowledge": "acknowledged", "not_a_stall": "marked not a stall"}
    text = action.get(str(record.get("action")), str(record.get("action")))
    text += f" by {record.get('by')}"
    recorded = record.get("recorded_at")
    return text + (
        f", {fmt.instant(recorded)}" if isinstance(recorded, datetime) else ""
    )


def _sorted(rows: list[StallRowOut], sort: Sort) -> list[StallRowOut]:
    if sort == "probability":
        return sorted(rows, key=lambda r: (-(r.probability or 0.0), r.rank))
    if sort == "due":
        return sorted(rows, key=lambda r: (r.urgency, r.rank))
    if sort == "age":
        return sorted(rows, key=lambda r: (-r.age_hours, r.rank))
    return rows
