"""One error shape for the whole API: a code, a message and every bad field."""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("stallwatch.api")

#: Seconds a caller is asked to wait when the store is busy (``Retry-After``).
STORE_RETRY_AFTER_SECONDS = 2
#: Characters of a sent value that an error message repeats; the rest is cut.
ECHO_LIMIT = 100


def printable(text: str) -> str:
    """Return ``text`` with lone surrogates written as ``\\udXXX`` escapes.

    A JSON body may carry a lone surrogate (``"\\ud800"``) that Python reads
    but UTF-8 cannot encode; echoing it unescaped would fail the answer.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clipped(text: str, limit: int = ECHO_LIMIT) -> str:
    """Return sent text fit to echo: printable, cut to ``limit`` characters."""
    text = printable(text)
    return text if len(text) <= limit else text[:limit] + "…"


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """Return a sent value as an error message quotes it: its repr, clipped."""
    return clipped(repr(value), limit)


def shown_list(values: list[str], limit: int = 10) -> str:
    """Return sent values as a message lists them: the first ``limit``, each clipped."""
    listed = ", ".join(shown(v) for v in values[:limit])
    more = len(values) - limit
    return listed + (f" and {more} more" if more > 0 else "")


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


class NotFoundError(ApiError):
    """The path or the item it names does not exist."""

    status_code = 404
    code = "not_found"


class ServiceUnavailableError(ApiError):
    """A part the request needs (the model) is not available."""

    status_code = 503
    code = "unavailable"


def _body(code: str, message: str, details: list[dict[str, Any]]) -> dict[str, Any]:
    # Every text goes out printable, and a place named by the sender clipped.
    return ErrorOut(
        code=code,
        message=printable(message),
        details=[
            ErrorDetailOut(
                loc=[p if isinstance(p, int) else clipped(str(p)) for p in d["loc"]],
                message=printable(d["message"]),
                type=d["type"],
            )
            for d in details
        ],
    ).model_dump()


def _where_in(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column} (character {pos})"


def body_problem(exc: BaseException | None) -> dict[str, Any]:
    """Describe why a request body could not be read as JSON, and where."""
    if isinstance(exc, json.JSONDecodeError):
        message = (
            f"invalid JSON at {_where_in(exc.doc, exc.pos)}: {exc.msg}; "
            "expected one JSON object"
        )
        kind = "json_invalid"
    elif isinstance(exc, UnicodeDecodeError):
        message = (
            f"cannot decode byte {exc.start} ({exc.object[exc.start]:#04x}) of the "
            f"body as {exc.encoding}; expected UTF-8 JSON"
        )
        kind = "json_encoding"
    elif isinstance(exc, RecursionError):
        message = (
            "the JSON is nested too deeply to read; expected one JSON object "
            "nested a few levels"
        )
        kind = "json_too_deep"
    else:
        message = "the body could not be read; expected UTF-8 JSON"
        kind = "json_invalid"
    return {"loc": ["body"], "message": message, "type": kind}


def _unreadable(cause: BaseException | None) -> JSONResponse:
    problem = body_problem(cause)
    return JSONResponse(
        _body("invalid_body", problem["message"], [problem]), status_code=400
    )


def _not_json(error: dict[str, Any]) -> bool:
    # FastAPI hands the raw bytes to validation when the content-type is not JSON.
    return tuple(error["loc"]) == ("body",) and isinstance(error.get("input"), bytes)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at the request's path.

    The router's 405 names only the first route that matched the path; a
    path served by several routes (GET and HEAD, GET and POST) allows them all.
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


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
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            return _unreadable(exc.__cause__)
        details: list[dict[str, Any]] = []
        for e in errors:
            if _not_json(e):
                sent = request.headers.get("content-type")
                details.append(
                    {
                        "loc": ["body"],
                        "message": "expected content-type application/json; got "
                        + (shown(sent) if sent else "no content-type"),
                        "type": "content_type",
                    }
                )
            else:
                details.append(
                    {
                        "loc": [p if isinstance(p, int) else str(p) for p in e["loc"]],
                        "message": e["msg"],
                        "type": e["type"],
                    }
                )
        where = "; ".join(
            ".".join(str(p) for p in d["loc"]) + ": " + d["message"] for d in details
        )
        return JSONResponse(
            _body("validation_error", f"invalid request: {where}", details),
            status_code=422,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, ValueError | RecursionError):
            # FastAPI could not decode the body (bad UTF-8, nesting too deep).
            return _unreadable(cause)
        # Keep what the exception says beside its status: Allow on a 405,
        # WWW-Authenticate on a 401, Retry-After on a 429 or 503.
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            if allowed:
                headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
                headers["Allow"] = ", ".join(allowed)
        return JSONResponse(
            _body("http_error", str(exc.detail), []),
            status_code=exc.status_code,
            headers=headers or None,
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
