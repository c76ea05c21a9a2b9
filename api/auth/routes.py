"""The manager's login: a form at /login, a session cookie, /logout.

The login form carries a CSRF token bound to a short-lived cookie; the
session's own CSRF token (an HMAC of the session token) is printed in every
page and sent back by the page's scripts and the logout form. Password
guessing is throttled per user name in the store
(:mod:`features.access.throttle`): past the limit the form answers 429.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth.deps import SESSION_COOKIE, LoginRequiredError, get_gate
from features.access.throttle import LoginLimit, attempt_login
from features.access.users import end_session, start_session
from stallwatch.settings import Settings

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(tags=["login"])
log = logging.getLogger("stallwatch.api")

#: The cookie that binds a login form's CSRF token to the browser that got it.
LOGIN_COOKIE = "stallwatch_login"
_LOGIN_FORM_SECONDS = 3600
_MAX_FORM_BYTES = 4096


def safe_next(value: str | None) -> str:
    """Return ``value`` if it is a path on this site, else ``/``.

    Refuses absolute URLs, scheme-relative ``//host`` and backslash tricks,
    so the login cannot send a manager to another site.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _cookie_kwargs(request: Request) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
    }


def _form_page(
    request: Request, *, next_path: str, error: str | None, name: str, status: int
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    context = {
        "csrf": get_gate(request).login_token(nonce),
        "next": next_path,
        "error": error,
        "name": name,
    }
    page = templates.TemplateResponse(
        request, "login.html", context, status_code=status
    )
    page.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=_LOGIN_FORM_SECONDS,
        path="/login",
        **_cookie_kwargs(request),  # type: ignore[arg-type]
    )
    page.headers["cache-control"] = "no-store"
    return page


def _login_limit(settings: Settings) -> LoginLimit:
    return LoginLimit(
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_window_seconds),
    )


def _wait_words(seconds: int) -> str:
    """Say a wait in words: seconds under two minutes, else whole minutes."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _paused_page(
    request: Request, *, next_path: str, name: str, wait: timedelta
) -> HTMLResponse:
    """Answer 429: the name has too many recent failures (known or not alike)."""
    seconds = math.ceil(wait.total_seconds())
    log.warning("login_throttled", extra={"retry_after_seconds": seconds})
    page = _form_page(
        request,
        next_path=next_path,
        error=(
            "Too many failed logins for this name, so it is paused: "
            f"try again in {_wait_words(seconds)}."
        ),
        name=name,
        status=429,
    )
    page.headers["retry-after"] = str(seconds)
    return page


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    return {k: v[0] for k, v in fields.items()}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request) -> Response:
    """Show the login form."""
    next_path = safe_next(request.query_params.get("next"))
    return _form_page(request, next_path=next_path, error=None, name="", status=200)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(request: Request) -> Response:
    """Check the name and password; on success open a session and go on."""
    form = await _form(request)
    next_path = safe_next(form.get("next"))
    name = form.get("name", "")[:120]
    gate = get_gate(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not gate.same_token(form.get("csrf", ""), gate.login_token(nonce)):
        return _form_page(
            request,
            next_path=next_path,
            error="The form expired or came from another site; please log in again.",
            name=name,
            status=403,
        )
    outcome = await run_in_threadpool(
        attempt_login,
        gate.engine,
        name=name,
        password=form.get("password", ""),
        limit=_login_limit(_settings(request)),
        now=datetime.now(UTC),
    )
    if outcome.retry_after is not None:
        return _paused_page(
            request, next_path=next_path, name=name, wait=outcome.retry_after
        )
    user = outcome.user
    if user is None:
        return _form_page(
            request,
            next_path=next_path,
            error="Wrong name or password.",
            name=name,
            status=401,
        )
    lifetime = timedelta(hours=_settings(request).session_hours)
    token = await run_in_threadpool(start_session, gate.engine, user, lifetime=lifetime)
    answer = RedirectResponse(next_path, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        **_cookie_kwargs(request),  # type: ignore[arg-type]
    )
    answer.delete_cookie(LOGIN_COOKIE, path="/login")
    return answer


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    """Close the session (the form must carry its CSRF token) and go to /login."""
    form = await _form(request)
    gate = get_gate(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and gate.check_session(token) is not None:
        if not gate.same_token(form.get("csrf", ""), gate.csrf_token(token)):
            return HTMLResponse("Missing or wrong CSRF token: not logged out.", 403)
        await run_in_threadpool(end_session, gate.engine, token)
        gate.forget_session(token)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> JSONResponse:
    """Give the OpenAPI description (any valid key or session)."""
    return JSONResponse(request.app.openapi())


def install_access(app: FastAPI) -> None:
    """Add /login, /logout and /openapi.json; send page visitors to the login.

    The app must be built with ``openapi_url=None`` and with
    :func:`api.auth.policy.enforce_route_policy` as an app-wide dependency.
    """

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        target = "/login?next=" + quote(safe_next(exc.next_path), safe="")
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(LoginRequiredError, to_login)
    app.include_router(router)
