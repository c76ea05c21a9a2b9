"""HTTP routes of the manager's pages: server-rendered HTML and the list's JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as FilePath
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.deps import get_service, get_settings_dep, resolve_now
from api.errors import ErrorOut
from api.pages import format as fmt
from api.pages import service as page_service
from api.pages.report_views import VIEWS
from api.pages.schemas import Sort, StallListOut
from api.reports.routes import report_period
from api.reports.service import get_reports
from api.risk.schemas import Instant
from models.reports import ReportPeriod, ReportService
from models.service import StallService
from stallwatch.settings import Settings

HERE = FilePath(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["instant"] = fmt.instant
templates.env.filters["percent"] = fmt.percent

router = APIRouter(tags=["pages"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
# An HTML page's errors are JSON all the same; with "model", FastAPI would
# document them as text/html.
_JSON_ERROR = {
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
    }
}
_PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not Found", **_JSON_ERROR},
    422: {"description": "Unprocessable Content", **_JSON_ERROR},
}


def _at() -> Any:
    return Query(default=None, description="Show the desk as it stood at this instant.")


def _text() -> Any:
    return Query(default=None, max_length=200, description="Empty means all.")


#: A filter form sends an empty value for "all".
AnyFlag = Literal["red", "amber", "green", ""]


def install_pages(app: FastAPI) -> None:
    """Add the pages and their static files to the app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


def _list(
    service: StallService,
    at: datetime,
    *,
    sort: Sort,
    limit: int,
    filters: dict[str, str | None],
) -> StallListOut:
    plain = {k: v or None for k, v in filters.items()}
    return page_service.stall_list(
        service,
        at=at,
        sort=sort,
        limit=limit,
        group=plain["group"],
        flag=plain["flag"],  # type: ignore[arg-type]
        category=plain["category"],
        channel=plain["channel"],
    )


def replay_context(at: str | None) -> dict[str, str]:
    """Return the replay instant as the pages carry it from link to link."""
    text = at or ""
    return {"replay": text, "aq": f"?at={quote(text)}" if text else ""}


@router.get("/v1/stall-list", response_model=StallListOut, responses=_ERRORS)
def get_stall_list(
    at: Instant | None = _at(),
    group: str | None = _text(),
    flag: AnyFlag | None = None,
    category: str | None = _text(),
    channel: str | None = _text(),
    sort: Sort = "rank",
    limit: int = Query(default=100, ge=1, le=500),
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> StallListOut:
    """List the predicted stalls as the manager's page prints them."""
    filters = {"group": group, "flag": flag, "category": category, "channel": channel}
    return _list(
        service, resolve_now(settings, at), sort=sort, limit=limit, filters=filters
    )


@router.get("/", response_class=HTMLResponse, responses=_PAGE_ERRORS)
def stall_list_page(
    request: Request,
    at: Instant | None = _at(),
    group: str | None = _text(),
    flag: AnyFlag | None = None,
    category: str | None = _text(),
    channel: str | None = _text(),
    sort: Sort = "rank",
    limit: int = Query(default=100, ge=1, le=500),
    refresh: int = Query(default=60, ge=0, le=3600, description="Seconds; 0: off."),
    service: StallService = Depends(get_service),
    reports: ReportService = Depends(get_reports),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """Show the predicted-stall list: ranked, flagged, with countdowns."""
    moment = resolve_now(settings, at)
    filters = {"group": group, "flag": flag, "category": category, "channel": channel}
    data = _list(service, moment, sort=sort, limit=limit, filters=filters)
    context = {
        "data": data,
        "filters": filters,
        "sort": sort,
        "limit": limit,
        "refresh": refresh,
        "as_of": moment,
        "choices": page_service.choices(reports),
        **replay_context(at.isoformat() if at else None),
    }
    return templates.TemplateResponse(request, "list.html", context)


@router.get(
    "/tickets/{ticket_id:path}", response_class=HTMLResponse, responses=_PAGE_ERRORS
)
def story_page(
    request: Request,
    ticket_id: str = Path(min_length=1, max_length=120),
    at: Instant | None = _at(),
    service: StallService = Depends(get_service),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """Tell a ticket's story: events, hand-offs, SLA ledger and stall scores."""
    moment = resolve_now(settings, at)
    context = page_service.story(service, ticket_id, at=moment)
    context.update({"as_of": moment, **replay_context(at.isoformat() if at else None)})
    return templates.TemplateResponse(request, "story.html", context)


@router.get("/reports", response_class=HTMLResponse, responses=_PAGE_ERRORS)
def reports_page(
    request: Request,
    at: Instant | None = _at(),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """List the reports."""
    context = {
        "views": VIEWS,
        "as_of": resolve_now(settings, at),
        **replay_context(at.isoformat() if at else None),
    }
    return templates.TemplateResponse(request, "reports.html", context)


@router.get("/reports/{slug}", response_class=HTMLResponse, responses=_PAGE_ERRORS)
def report_page(
    request: Request,
    slug: str = Path(pattern="^[a-z-]{1,40}$"),
    period: ReportPeriod = Depends(report_period),
    reports: ReportService = Depends(get_reports),
) -> Response:
    """Show one report as a chart with its definition and the figures behind it."""
    view = VIEWS.get(slug)
    if view is None:
        raise page_service.ReportNotFoundError(
            f"no report named {slug!r}; expected one of {', '.join(VIEWS)}",
            [{"loc": ["path", "slug"], "message": "unknown report", "type": "missing"}],
        )
    out, _ = view.compute(reports, period)
    chart, header, rows = view.draw(out)
    query = request.url.query
    context = {
        "view": view,
        "period": period,
        "chart": chart,
        "header": header,
        "rows": rows,
        "json_url": f"/v1/reports/{slug}" + (f"?{query}" if query else ""),
        "csv_url": f"/v1/reports/{slug}?format=csv" + (f"&{query}" if query else ""),
        "groups": reports.choices("group"),
        "as_of": period.as_of,
        **replay_context(request.query_params.get("at")),
    }
    return templates.TemplateResponse(request, "report.html", context)
