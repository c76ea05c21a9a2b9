"""Each report as a page: its definition in words, a chart and the table behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel

from api.pages import charts
from api.pages.format import percent
from api.reports import service as report_service
from api.reports.schemas import (
    BacklogOut,
    FcrOut,
    HandoffsOut,
    ModelRecordOut,
    OpenAgeOut,
    SlaComplianceOut,
    WeeklyCategoriesOut,
)
from models.reports import ReportPeriod, ReportService


@dataclass(frozen=True)
class ReportView:
    """How one report is computed, defined and drawn."""

    slug: str
    title: str
    definition: str
    compute: Callable[[ReportService, ReportPeriod], tuple[BaseModel, str]]
    draw: Callable[[Any], tuple[Markup, list[str], list[list[Any]]]]


def _backlog(out: BacklogOut) -> tuple[Markup, list[str], list[list[Any]]]:
    labels = [d.day for d in out.days]
    values = [d.open_tickets for d in out.days]
    chart = charts.line_chart(labels, values, label="open tickets per day")
    return chart, ["day", "open tickets"], [[d.day, d.open_tickets] for d in out.days]


def _age(out: OpenAgeOut) -> tuple[Markup, list[str], list[list[Any]]]:
    chart = charts.bar_chart(
        [b.bucket for b in out.buckets],
        [b.tickets for b in out.buckets],
        label="open tickets by business age",
    )
    rows: list[list[Any]] = [
        ["open tickets", out.open_tickets],
        ["mean age (business hours)", out.mean_business_hours],
        ["median age (business hours)", out.median_business_hours],
        ["90th percentile (business hours)", out.p90_business_hours],
    ]
    rows += [[f"age {b.bucket}", b.tickets] for b in out.buckets]
    return chart, ["figure", "value"], rows


def _fcr(out: FcrOut) -> tuple[Markup, list[str], list[list[Any]]]:
    resolved = out.resolved or 1
    chart = charts.share_bars(
        ["first contact", "with a hand-off", "reopened", "several replies"],
        [
            out.first_contact / resolved,
            out.with_handoff / resolved,
            out.reopened / resolved,
            out.several_replies / resolved,
        ]
        if out.resolved
        else [None, None, None, None],
        label="first-contact resolution",
    )
    rows: list[list[Any]] = [
        ["resolved in the period", out.resolved],
        ["resolved at first contact", out.first_contact],
        ["first-contact resolution rate", percent(out.rate)],
        ["with a hand-off", out.with_handoff],
        ["reopened", out.reopened],
        ["more than one agent reply", out.several_replies],
    ]
    return chart, ["figure", "value"], rows


def _sla(out: SlaComplianceOut) -> tuple[Markup, list[str], list[list[Any]]]:
    chart = charts.share_bars(
        [t.target.replace("_", " ") for t in out.targets],
        [t.rate for t in out.targets],
        label="SLA compliance by target",
    )
    rows = [
        [t.target, t.met, t.breached, t.running, percent(t.rate)] for t in out.targets
    ]
    return chart, ["target", "met", "breached", "still running", "compliance"], rows


def _weekly(out: WeeklyCategoriesOut) -> tuple[Markup, list[str], list[list[Any]]]:
    chart = charts.stacked_bars(
        out.weeks,
        [(c.category, c.counts) for c in out.categories],
        label="open tickets by category at each week's end",
    )
    rows = [[c.category, *c.counts] for c in out.categories]
    return chart, ["category", *(f"week of {w}" for w in out.weeks)], rows


def _handoffs(out: HandoffsOut) -> tuple[Markup, list[str], list[list[Any]]]:
    chart = charts.heatmap(out.groups, out.counts, label="hand-offs between groups")
    rows: list[list[Any]] = [
        ["hand-offs", out.total],
        ["returns (ping-pong)", out.returns],
    ]
    rows += [[f"ping-pong: {p.ticket_id}", p.returns] for p in out.ping_pong_tickets]
    return chart, ["figure", "value"], rows


def _record(out: ModelRecordOut) -> tuple[Markup, list[str], list[list[Any]]]:
    chart = charts.share_bars(
        [f"{f.flag} ({f.tickets} tickets)" for f in out.flags],
        [f.stall_rate for f in out.flags],
        label="share of flagged tickets that stalled",
    )
    rows = [
        [
            f.flag,
            f.tickets,
            f.stalled,
            f.not_stalled,
            f.still_open,
            percent(f.stall_rate),
        ]
        for f in out.flags
    ]
    header = ["flag", "tickets", "stalled", "did not stall", "still open", "stall rate"]
    return chart, header, rows


VIEWS = {
    v.slug: v
    for v in (
        ReportView(
            "backlog",
            "Open tickets per day",
            "Tickets open at the end of each local day (at the next midnight): "
            "every event before that instant counts, and a ticket is open unless "
            "it is resolved, closed or merged. With a group: tickets with that "
            "group then.",
            report_service.backlog,
            _backlog,
        ),
        ReportView(
            "open-age",
            "Open age",
            "The tickets open just before the period's end, and their age in "
            "business hours (from the first event, on the calendar their SLA "
            "clocks use).",
            report_service.open_age,
            _age,
        ),
        ReportView(
            "first-contact-resolution",
            "First-contact resolution",
            "Of the tickets first resolved or closed in the period: the share "
            "that never changed group before that, had at most one agent reply, "
            "and were not reopened afterwards (up to the replay moment).",
            report_service.fcr,
            _fcr,
        ),
        ReportView(
            "sla-compliance",
            "SLA compliance by target",
            "Tickets created in the period; each target's latest clock read at "
            "the replay moment. Compliance = met / (met + breached); running "
            "clocks wait. 'source' is the log's own SLA flag.",
            report_service.sla,
            _sla,
        ),
        ReportView(
            "weekly-categories",
            "Weekly open tickets by category",
            "Tickets open at the end of each week (Monday to Sunday, local), by "
            "their category then; the eight largest categories by name.",
            report_service.weekly,
            _weekly,
        ),
        ReportView(
            "handoffs",
            "Hand-offs between groups",
            "Changes of a ticket's group in the period, from row to column. A "
            "return (ping-pong) goes back to a group the ticket had left.",
            report_service.handoffs,
            _handoffs,
        ),
        ReportView(
            "model-record",
            "The model's record",
            "The list as ranked at 09:00 on each of the period's last 14 days. Each "
            "ticket counts once, under its most urgent flag; it stalled when the "
            "log marks its SLA breached after that review.",
            report_service.record,
            _record,
        ),
    )
}
