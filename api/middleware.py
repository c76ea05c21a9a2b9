"""Per-request context: a request id in every log line, HTTP metrics, and
the security headers of every answer.

A pure ASGI middleware, so the request id bound here is still bound when
uvicorn writes its access log line for the same request.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stallwatch.metrics import HTTP_LATENCY, HTTP_REQUESTS, UNMATCHED_ROUTE

REQUEST_ID_HEADER = "x-request-id"
#: A caller's request id is kept only if it is short and plain: letters,
#: digits and ``-_.:``, 1 to 128 characters. Anything else is replaced, so a
#: header cannot inject text or newlines into the logs.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
#: Every answer's own protection in a browser. The pages load their scripts
#: and styles from /static only; no inline code, frames or plug-ins.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
#: FastAPI's Swagger UI page starts the bundle with an inline script.
_DOCS_POLICY = _PAGE_POLICY.replace(
    "script-src 'self'; style-src 'self'",
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'",
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
#: Methods counted under their own name; any other is counted as "OTHER".
_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """Return the caller's X-Request-ID if it is valid, else a new one."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """Return the security headers of an answer to ``path``."""
    policy = _DOCS_POLICY if path == "/docs" else _PAGE_POLICY
    return [*SECURITY_HEADERS, (b"content-security-policy", policy.encode())]


def route_template(scope: Scope) -> str:
    """Return the matched route's path template (bounded label), not the raw path."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return template
    # A mounted app (the static files) sets its mount point as root_path.
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", "")
    if isinstance(root, str) and root != app_root and root.startswith(app_root):
        return root[len(app_root) :] + "/{path}"
    return UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Give each request an id (X-Request-ID) and the security headers; count
    and time it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = request_id_from(scope.get("headers", []))
        status = 500  # what the client sees if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.extend(security_headers(str(scope.get("path", ""))))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_template(scope)
                method = str(scope.get("method", ""))
                method = method if method in _METHODS else "OTHER"
                HTTP_REQUESTS.labels(
                    route=route, method=method, status=str(status)
                ).inc()
                HTTP_LATENCY.labels(route=route, method=method).observe(
                    time.perf_counter() - started
                )
