"""Structured logging: stable event names with key-value fields.

Every record passes :func:`redact_personal_data` last, so an e-mail address or
a phone number never reaches a log line, whatever logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
#: A run of digits with the separators phone numbers are written with.
_PHONE_CANDIDATE = re.compile(
    r"(?:(?<=tel:)|(?<![\w.:/+-]))(?:\+|\(\+?)?\d[\d ().-]*\d(?![\w:/])"
)
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DECIMAL = re.compile(r"\d+\.\d+")
#: What stands in for a redacted value.
EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"


def _phone_or_not(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15 or _DATE_LIKE.search(text):
        return text
    if _DOTTED_QUAD.fullmatch(text) or _DECIMAL.fullmatch(text):
        return text
    groups = len(re.findall(r"\d+", text))
    # A bare number is a phone only when it is long; a written one has groups.
    if text.startswith(("+", "(")) or groups >= 2 or digits >= 10:
        return PHONE_MARK
    return text


def redact_text(text: str) -> str:
    """Return ``text`` with e-mail addresses and phone numbers replaced."""
    return _PHONE_CANDIDATE.sub(_phone_or_not, _EMAIL.sub(EMAIL_MARK, text))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    return value


def redact_personal_data(
    logger: Any, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Redact e-mail addresses and phone numbers from the message and every field."""
    return {
        key: value if key.startswith("_") else _redact(value)
        for key, value in event_dict.items()
    }


def uvicorn_fields(
    logger: Any, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Give uvicorn's records stable fields instead of its formatted text.

    An access line becomes the event ``http_request`` with the client, method,
    path, HTTP version and status as fields; uvicorn's coloured copy of each
    message is dropped.
    """
    event_dict.pop("color_message", None)
    args = event_dict.pop("positional_args", None)  # see pass_foreign_args
    record = event_dict.get("_record")
    access = getattr(record, "name", None) == "uvicorn.access"
    if access and isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict.update(
            event="http_request",
            client=client,
            method=method,
            path=path,
            http_version=http_version,
            status=status,
        )
    return event_dict


class _CurrentStderrHandler(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is at each record, not at set-up.

    A command run in process (a test's CLI runner, a notebook) swaps and later
    closes its own stderr; a handler holding the old stream would then fail on
    every record. ``setStream`` still pins a stream of the caller's choice.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)
        self._pinned: Any = None

    @property
    def stream(self) -> Any:
        return sys.stderr if self._pinned is None else self._pinned

    @stream.setter
    def stream(self, value: Any) -> None:
        self._pinned = value


def configure_logging(*, fmt: str = "console", level: str = "INFO") -> None:
    """Route stdlib and structlog records through one renderer."""
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.plain_traceback,
        )

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        uvicorn_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Tracebacks become text first, so that they are redacted too.
                structlog.processors.format_exc_info,
                redact_personal_data,
                renderer,
            ],
            foreign_pre_chain=shared,
            # uvicorn's access line keeps its parts (uvicorn_fields)
            pass_foreign_args=True,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # warnings.warn() output goes through the same renderer (py.warnings).
    logging.captureWarnings(True)
    for noisy in ("alembic", "mlflow", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
