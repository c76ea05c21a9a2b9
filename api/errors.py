"""One error shape for the whole API: a code, a message and every bad field."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("stallwatch.api")

#: Seconds a caller is asked to wait when the store is busy (``Retry-After``).
STORE_RETRY_AFTER_SECONDS = 2


class ErrorDetailOut(BaseModel):
    """One problem: where it is and what was expected."""

    loc: list[str | int]
    message: str
    type: str


class ErrorOut(BaseModel):
    """The body of every error response."""

    code: str
    message: str
    details: list[ErrorDetailOut] = []


class ApiError(Exception):
    """Base of the errors a route may raise on purpose."""

    status_code = 400
    code = "bad_request"
    #: Extra response headers (e.g. ``WWW-Authenticate`` on a 401).
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class UnprocessableError(ApiError):
    """The request is well-formed but names something that cannot be used."""

    status_code = 422
    code = "unprocessable"


class ServiceUnavailableError(ApiError):
    """A part the request needs (the model) is not available."""

    status_code = 503
    code = "unavailable"


def _body(code: str, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    return ErrorOut(
        code=code,
        message=message,
        details=[ErrorDetailOut(**d) for d in details],
    ).model_dump()


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, expected or not, answer in the one shape."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            _body(exc.code, exc.message, exc.details),
            status_code=exc.status_code,
            headers=exc.headers or None,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {
                "loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]],
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        where = "; ".join(
            ".".join(str(p) for p in d["loc"]) + ": " + d["message"] for d in details
        )
        return JSONResponse(
            _body("validation_error", f"invalid request: {where}", details),
            status_code=422,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            _body("http_error", str(exc.detail), []), status_code=exc.status_code
        )

    async def on_store_busy(request: Request, exc: Exception) -> JSONResponse:
        # A lock held too long, a lost connection: the transaction was rolled
        # back, so the caller may send the same request again.
        log.warning(
            "store_unavailable",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        return JSONResponse(
            _body(
                "store_unavailable",
                "the event store is busy or does not answer; nothing of this "
                "request was written; send it again shortly",
                [],
            ),
            status_code=503,
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "request_failed",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        return JSONResponse(
            _body("internal_error", "the server could not answer this request", []),
            status_code=500,
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(OperationalError, on_store_busy)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
