"""FastAPI dependencies that authenticate a request and check its scope.

A request proves who it is with ``Authorization: Bearer <key>`` (a CRM, a
script) or with the manager's session cookie (the pages and their fetches).
A session-authenticated request that changes state must also carry the
session's CSRF token in the ``X-CSRF-Token`` header (or a ``csrf`` form field,
checked by the form's own route).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import Request

from api.errors import ApiError
from features.access.scopes import SCOPES, grants
from features.access.verify import AccessGate, Credential

#: The cookie that carries a manager's session token.
SESSION_COOKIE = "stallwatch_session"
#: The header a session-authenticated fetch sends its CSRF token in.
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UnauthorizedError(ApiError):
    """No credential, or one the service does not accept."""

    status_code = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ApiError):
    """A valid credential that lacks the scope the route needs."""

    status_code = 403
    code = "forbidden"


class LoginRequiredError(Exception):
    """A page asked for without a session: the answer is the login form."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key or a logged-in user, and what they may do."""

    kind: str  # "key" or "session"
    name: str
    scopes: frozenset[str]
    csrf_token: str | None = None


def get_gate(request: Request) -> AccessGate:
    """Return the credential checker built at start-up."""
    gate: AccessGate = request.app.state.access
    return gate


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "the Authorization header must read 'Bearer <key>'",
            [
                {
                    "loc": ["header", "authorization"],
                    "message": "not a bearer key",
                    "type": "invalid",
                }
            ],
        )
    return token.strip()


def _principal(credential: Credential, csrf_token: str | None) -> Principal:
    return Principal(
        kind=credential.kind,
        name=credential.name,
        scopes=credential.scopes,
        csrf_token=csrf_token,
    )


def authenticate(request: Request) -> Principal | None:
    """Return the caller, ``None`` without any credential; raise on a bad one.

    The answer is kept on ``request.state`` so that several checks on one
    request look the credential up once.
    """
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    gate = get_gate(request)
    principal: Principal | None = None
    token = _bearer(request)
    if token is not None:
        credential = gate.check_key(token)
        if credential is None:
            raise UnauthorizedError("unknown or revoked API key")
        principal = _principal(credential, None)
    else:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            credential = gate.check_session(session)
            if credential is not None:
                principal = _principal(credential, gate.csrf_token(session))
                request.state.csrf_token = principal.csrf_token
    request.state.principal = principal
    return principal


def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.kind != "session" or request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    gate = get_gate(request)
    if not sent or not gate.same_token(sent, principal.csrf_token or ""):
        raise ForbiddenError(
            "missing or wrong CSRF token: a request made with the session cookie "
            f"must send the page's token in the {CSRF_HEADER} header",
            [
                {
                    "loc": ["header", CSRF_HEADER],
                    "message": "CSRF token required",
                    "type": "csrf",
                }
            ],
        )


def authorize(request: Request, scope: str | None, *, page: bool = False) -> Principal:
    """Return the caller if it holds ``scope``; raise 401, 403 or to the login.

    ``scope=None`` accepts any valid credential.
    """
    principal = authenticate(request)
    if principal is None:
        if page:
            query = request.url.query
            raise LoginRequiredError(request.url.path + (f"?{query}" if query else ""))
        raise UnauthorizedError(
            "this route needs an API key (Authorization: Bearer <key>) or a session"
        )
    if scope is not None and not grants(principal.scopes, scope):
        raise ForbiddenError(
            f"the credential {principal.name!r} lacks the scope {scope!r} "
            f"({SCOPES.get(scope, 'unknown scope')})",
            [{"loc": ["scope"], "message": f"requires {scope}", "type": "scope"}],
        )
    _check_csrf(request, principal)
    return principal


def require_scope(scope: str, *, page: bool = False) -> Callable[..., Principal]:
    """Return a dependency that lets the request through only with ``scope``.

    Use it as ``Depends(require_scope("metrics:read"))``. With ``page=True`` a
    caller without credentials is sent to the login form instead of a 401.
    """
    if scope not in SCOPES:
        raise ValueError(
            f"unknown scope {scope!r}; expected one of {', '.join(SCOPES)}"
        )

    def dependency(request: Request) -> Principal:
        return authorize(request, scope, page=page)

    marked: Any = dependency
    marked.required_scope = scope
    marked.login_page = page
    return dependency
