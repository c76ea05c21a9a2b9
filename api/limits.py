"""The request body limit: a body larger than the setting answers 413, unread."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ErrorDetailOut, ErrorOut


class BodyTooLargeError(StarletteHTTPException):
    """The request body passed the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=_message(limit))
        self.limit = limit


def _message(limit: int) -> str:
    return (
        f"the request body is larger than {limit} bytes, the most this service "
        "reads (STALLWATCH_MAX_BODY_BYTES); send fewer tickets or events per request"
    )


def _error(limit: int) -> dict[str, object]:
    return ErrorOut(
        code="payload_too_large",
        message=_message(limit),
        details=[
            ErrorDetailOut(
                loc=["body"],
                message=f"expected at most {limit} bytes",
                type="too_large",
            )
        ],
    ).model_dump()


class BodySizeLimit:
    """Refuse a body whose declared or streamed length passes ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before the body is
    read. A chunked body is counted while the route reads it; the read stops
    at the first chunk that passes the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLargeError:
            # Read outside a route's own error handling: answer here if we can.
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(_error(self.max_bytes)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def install_body_limit(app: FastAPI, *, max_bytes: int) -> None:
    """Limit every request body to ``max_bytes``, answering 413 in the error shape."""

    async def on_too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLargeError)
        return JSONResponse(_error(exc.limit), status_code=413)

    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    app.add_exception_handler(BodyTooLargeError, on_too_large)
