"""Per-request context: a request id in every log line, and HTTP metrics.

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
    """Give each request an id (X-Request-ID) and count and time it."""

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
