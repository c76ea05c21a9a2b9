"""HTTP routes of the reports: JSON by default, CSV with ``?format=csv``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.auth.deps import require_scope
from api.deps import get_settings_dep, resolve_now
from api.errors import ErrorOut, NotFoundError, shown
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
from api.risk.schemas import Instant
from features.access.scopes import LISTS_READ
from models.reports import ReportPeriod, ReportService
from stallwatch.settings import Settings

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Format = Literal["json", "csv"]
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}},
    422: {"model": ErrorOut},
}


def report_period(
    start: Instant | None = Query(
        default=None, alias="from", description="Period start; default: 28 days back."
    ),
    end: Instant | None = Query(
        default=None, alias="to", description="Period end (exclusive); default: at."
    ),
    at: Instant | None = Query(
        default=None, description="See the store as it stood at this instant."
    ),
    group: str | None = Query(
        default=None, max_length=200, description="One group; empty means all."
    ),
    reports: ReportService = Depends(report_service.get_reports),
    settings: Settings = Depends(get_settings_dep),
) -> ReportPeriod:
    """Return the checked period of a report query."""
    return report_service.make_period(
        reports,
        as_of=resolve_now(settings, at),
        start=start,
        end=end,
        group=group or None,
    )


def _answer(
    make: Callable[[ReportService, ReportPeriod], tuple[BaseModel, str]],
    reports: ReportService,
    period: ReportPeriod,
    fmt: Format,
    name: str,
) -> BaseModel | Response:
    out, text = make(reports, period)
    if fmt == "csv":
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    return out


def _format() -> Any:
    return Query(default="json", alias="format", description="json or csv.")


@router.get("/backlog", response_model=BacklogOut, responses=_ANSWERS)
def get_backlog(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Count open tickets at the end of each day of the period."""
    return _answer(report_service.backlog, reports, period, fmt, "backlog")


@router.get("/open-age", response_model=OpenAgeOut, responses=_ANSWERS)
def get_open_age(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Give the business age of the tickets open at the period's end."""
    return _answer(report_service.open_age, reports, period, fmt, "open-age")


@router.get("/first-contact-resolution", response_model=FcrOut, responses=_ANSWERS)
def get_fcr(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Give the first-contact resolution rate of the period's resolutions."""
    return _answer(report_service.fcr, reports, period, fmt, "fcr")


@router.get("/sla-compliance", response_model=SlaComplianceOut, responses=_ANSWERS)
def get_sla_compliance(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Give SLA compliance by target for the tickets created in the period."""
    return _answer(report_service.sla, reports, period, fmt, "sla-compliance")


@router.get(
    "/weekly-categories", response_model=WeeklyCategoriesOut, responses=_ANSWERS
)
def get_weekly_categories(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Count open tickets by category at the end of each week."""
    return _answer(report_service.weekly, reports, period, fmt, "weekly-categories")


@router.get("/handoffs", response_model=HandoffsOut, responses=_ANSWERS)
def get_handoffs(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Count hand-offs between groups, with the returns among them."""
    return _answer(report_service.handoffs, reports, period, fmt, "handoffs")


@router.get("/model-record", response_model=ModelRecordOut, responses=_ANSWERS)
def get_model_record(
    period: ReportPeriod = Depends(report_period),
    fmt: Format = _format(),
    reports: ReportService = Depends(report_service.get_reports),
) -> BaseModel | Response:
    """Say how many of the tickets the list flagged went on to stall."""
    return _answer(report_service.record, reports, period, fmt, "model-record")


#: The report names, in the order of the routes above.
REPORT_NAMES = tuple(
    route.path.removeprefix(router.prefix + "/")
    for route in router.routes
    if isinstance(route, APIRoute)
)


@router.get(
    "/{name}",
    include_in_schema=False,
    dependencies=[Depends(require_scope(LISTS_READ))],
    responses={404: {"model": ErrorOut}},
)
def unknown_report(name: str) -> None:
    """Answer a report name that does not exist with the names that do."""
    raise NotFoundError(
        f"no report named {shown(name)}; expected one of {', '.join(REPORT_NAMES)}",
        [
            {
                "loc": ["path", "name"],
                "message": "expected one of " + ", ".join(REPORT_NAMES),
                "type": "unknown_report",
            }
        ],
    )
