"""Translate report queries into calls on the report service, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from fastapi import Request

from api.errors import UnprocessableError
from api.reports.schemas import (
    AgeBucketOut,
    BacklogOut,
    CategorySeriesOut,
    DayCountOut,
    FcrOut,
    FlagRecordOut,
    HandoffsOut,
    ModelRecordOut,
    OpenAgeOut,
    PeriodOut,
    PingPongOut,
    SlaComplianceOut,
    TargetComplianceOut,
    WeeklyCategoriesOut,
)
from models.reports import ReportPeriod, ReportService

#: Reports cover at most this many days.
MAX_PERIOD_DAYS = 366
#: Default length of a period, in days before its end.
DEFAULT_PERIOD_DAYS = 28

_LOCK = threading.Lock()


def get_reports(request: Request) -> ReportService:
    """Return the report service of this app, made on first use."""
    with _LOCK:
        reports: ReportService | None = getattr(request.app.state, "reports", None)
        if reports is None:
            reports = ReportService(request.app.state.service)
            request.app.state.reports = reports
        return reports


def make_period(
    reports: ReportService,
    *,
    as_of: datetime,
    start: datetime | None,
    end: datetime | None,
    group: str | None,
) -> ReportPeriod:
    """Check the asked period and return it; every problem is listed at once."""
    end = end or as_of
    start = start or end - timedelta(days=DEFAULT_PERIOD_DAYS)
    problems = []
    if end > as_of:
        problems.append(
            (["query", "to"], f"after the replay moment {as_of.isoformat()}")
        )
    if start >= end:
        problems.append((["query", "from"], "not before the period's end ('to')"))
    elif end - start > timedelta(days=MAX_PERIOD_DAYS):
        problems.append(
            (["query", "from"], f"the period is longer than {MAX_PERIOD_DAYS} days")
        )
    if problems:
        where = "; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems)
        raise UnprocessableError(
            f"invalid report period: {where}",
            [
                {"loc": loc, "message": msg, "type": "bad_period"}
                for loc, msg in problems
            ],
        )
    return ReportPeriod(
        start=start, end=end, as_of=as_of, group=group, zone=reports.zone
    )


def period_out(period: ReportPeriod) -> PeriodOut:
    """Return the period as the reports echo it."""
    return PeriodOut(
        start=period.start,
        end=period.end,
        as_of=period.as_of,
        group=period.group,
        zone=period.zone,
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Return a cell a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a CSV document with a header line; text cannot start a formula."""
    buffer = io.StringIO()
    # CRLF (RFC 4180) also makes the writer quote a cell holding a lone CR.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def backlog(reports: ReportService, period: ReportPeriod) -> tuple[BacklogOut, str]:
    """Return open tickets per day."""
    days = reports.backlog(period)
    out = BacklogOut(
        period=period_out(period),
        days=[DayCountOut(day=d, open_tickets=n) for d, n in days],
    )
    return out, to_csv(["day", "open_tickets"], days)


def open_age(reports: ReportService, period: ReportPeriod) -> tuple[OpenAgeOut, str]:
    """Return the business age of the open tickets."""
    age = reports.open_age(period)
    out = OpenAgeOut(
        period=period_out(period),
        open_tickets=age.open_tickets,
        mean_business_hours=age.mean_business_hours,
        median_business_hours=age.median_business_hours,
        p90_business_hours=age.p90_business_hours,
        buckets=[AgeBucketOut(bucket=b, tickets=n) for b, n in age.buckets],
    )
    rows: list[list[object]] = [["open_tickets", age.open_tickets]]
    rows += [["mean", age.mean_business_hours]]
    rows += [["median", age.median_business_hours]]
    rows += [["p90", age.p90_business_hours]]
    rows += [[f"bucket {b}", n] for b, n in age.buckets]
    return out, to_csv(["figure", "value (business hours or tickets)"], rows)


def fcr(reports: ReportService, period: ReportPeriod) -> tuple[FcrOut, str]:
    """Return first-contact resolution."""
    f = reports.fcr(period)
    out = FcrOut(period=period_out(period), **vars(f))
    return out, to_csv(list(vars(f)), [list(vars(f).values())])


def sla(reports: ReportService, period: ReportPeriod) -> tuple[SlaComplianceOut, str]:
    """Return SLA compliance by target."""
    targets = [TargetComplianceOut(**vars(t)) for t in reports.sla(period)]
    out = SlaComplianceOut(period=period_out(period), targets=targets)
    header = list(TargetComplianceOut.model_fields)
    rows = [[getattr(t, h) for h in header] for t in targets]
    return out, to_csv(header, rows)


def weekly(
    reports: ReportService, period: ReportPeriod
) -> tuple[WeeklyCategoriesOut, str]:
    """Return open tickets by category week by week."""
    weeks, names, series = reports.weekly_by_category(period)
    out = WeeklyCategoriesOut(
        period=period_out(period),
        weeks=weeks,
        categories=[
            CategorySeriesOut(category=c, counts=s)
            for c, s in zip(names, series, strict=True)
        ],
    )
    rows = [
        [week, name, s[i]]
        for i, week in enumerate(weeks)
        for name, s in zip(names, series, strict=True)
    ]
    return out, to_csv(["week_start", "category", "open_tickets"], rows)


def handoffs(reports: ReportService, period: ReportPeriod) -> tuple[HandoffsOut, str]:
    """Return the hand-off matrix."""
    m = reports.handoffs(period)
    out = HandoffsOut(
        period=period_out(period),
        groups=m.groups,
        counts=m.counts,
        total=m.total,
        returns=m.returns,
        ping_pong_tickets=[
            PingPongOut(ticket_id=t, returns=n) for t, n in m.ping_pong_tickets
        ],
    )
    rows = [
        [a, b, m.counts[i][j]]
        for i, a in enumerate(m.groups)
        for j, b in enumerate(m.groups)
        if m.counts[i][j]
    ]
    return out, to_csv(["from_group", "to_group", "handoffs"], rows)


def record(reports: ReportService, period: ReportPeriod) -> tuple[ModelRecordOut, str]:
    """Return the model's record."""
    r = reports.record(period)
    flags = [FlagRecordOut(**vars(f)) for f in r.flags]
    out = ModelRecordOut(
        period=period_out(period),
        reviews=r.reviews,
        model_version=r.model_version,
        flags=flags,
    )
    header = list(FlagRecordOut.model_fields)
    return out, to_csv(header, [[getattr(f, h) for h in header] for f in flags])
