"""The one settings object, read once at start-up from ``STALLWATCH_*`` variables."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.connection import sqlite_folder

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The one folder a command may create for a SQLite store: the default's.
DEFAULT_STORE_FOLDER = REPO_ROOT / "var"
#: Shortest STALLWATCH_SESSION_SECRET accepted (the service refuses shorter).
SESSION_SECRET_MIN_LENGTH = 32


def missing_store_folder(url: str) -> str | None:
    """Say why a SQLite store's folder is missing, or None if it may be used.

    Only the default store's folder is made on first use: a mistyped path
    must not silently become a new, empty store.
    """
    folder = sqlite_folder(url)
    if folder is None or folder.is_dir():
        return None
    if folder.resolve() == DEFAULT_STORE_FOLDER.resolve():
        return None
    return (
        f"the folder {folder} does not exist; create it or correct the path "
        f"(only the default store folder {DEFAULT_STORE_FOLDER} is made)"
    )


class Settings(BaseSettings):
    """Service and command-line configuration."""

    model_config = SettingsConfigDict(env_prefix="STALLWATCH_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'stallwatch.db'}",
        description="SQLAlchemy URL of the event store.",
    )
    model_dir: Path = Field(
        default=REPO_ROOT / "models" / "bundles",
        description="Where training writes model bundles and the service reads them.",
    )
    mlflow_tracking_uri: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'mlflow.db'}",
        description="Used when MLFLOW_TRACKING_URI is not set.",
    )
    sla_desk: Path = Field(
        default=REPO_ROOT / "features" / "sla" / "desks" / "uci.yaml",
        description="Desk SLA configuration: calendars, policies, response kinds.",
    )
    now: datetime | None = Field(
        default=None,
        description="Replay moment: the service treats this UTC instant as now.",
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1_024,
        description="Largest request body the API reads; a larger one answers 413.",
    )
    alert_rules: Path | None = Field(
        default=REPO_ROOT / "models" / "alerts" / "default_rules.yaml",
        description="Alert rule file (YAML); empty to turn alerts off.",
    )
    alert_interval_seconds: float = Field(default=300, gt=0)
    alert_full_sweep_minutes: float = Field(default=60, gt=0)
    alert_max_attempts: int = Field(default=8, ge=1)
    alert_backoff_seconds: float = Field(default=30, gt=0)
    alert_lease_seconds: float = Field(default=120, gt=0)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "stallwatch@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC key of signed webhooks; no default."
    )
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Where `stallwatch worker` serves /metrics; unset: it does not.",
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus_client's multiprocess folder (read by the library).",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signs the pages' CSRF tokens; unset: made once in session_secret_file. "
            "Several hosts must share one."
        ),
    )
    session_secret_file: Path = Field(
        default=REPO_ROOT / "var" / "session-secret",
        description="Where a made session secret is kept (mode 0600).",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="Lifetime of a manager's login."
    )
    access_cache_seconds: float = Field(
        default=5,
        ge=0,
        le=300,
        description=(
            "How long a worker trusts a checked key or session (revocation bound)."
        ),
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        le=1_000,
        description="Failed logins one user name may have within the window.",
    )
    login_window_seconds: float = Field(
        default=900,
        gt=0,
        le=86_400,
        description="The sliding window of login failures; then tries answer 429.",
    )

    @field_validator("alert_rules", mode="before")
    @classmethod
    def _empty_turns_alerts_off(cls, value: object) -> object:
        """Read an empty STALLWATCH_ALERT_RULES as "no alerts"."""
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        """Accept only SQLAlchemy URLs of SQLite or PostgreSQL."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
            driver = (url.get_backend_name(), url.get_driver_name())
        except ArgumentError:
            driver = ("", "")
        if driver not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
            raise ValueError(
                "expected a SQLAlchemy URL of SQLite or PostgreSQL with psycopg 3, "
                "e.g. sqlite:///var/stallwatch.db or "
                "postgresql+psycopg://user@host:5432/db"
            )
        if (problem := missing_store_folder(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_session_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse a session secret too short to sign tokens safely."""
        if value is not None and len(value.get_secret_value()) < (
            SESSION_SECRET_MIN_LENGTH
        ):
            raise ValueError(
                f"expected at least {SESSION_SECRET_MIN_LENGTH} random characters "
                f"(got {len(value.get_secret_value())}), e.g. from "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`; "
                "unset, one is made in STALLWATCH_SESSION_SECRET_FILE"
            )
        return value

    @field_validator("sla_desk")
    @classmethod
    def _desk_file_exists(cls, value: Path) -> Path:
        """Refuse a desk file that is not there (read when the service starts)."""
        if not value.is_file():
            raise ValueError("expected an existing SLA desk file (YAML)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        """Accept the standard logging levels, in any case."""
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("prometheus_multiproc_dir", mode="before")
    @classmethod
    def _writable_folder(cls, value: object) -> object:
        """Check the multiprocess folder exists and is writable (empty: unset)."""
        if value in ("", None):
            return None
        folder = Path(str(value))
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError("expected an existing folder this process can write")
        return folder

    @field_validator("now")
    @classmethod
    def _now_in_utc(cls, value: datetime | None) -> datetime | None:
        """Read a replay moment without an offset as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_SECRETS = frozenset({"smtp_password", "webhook_secret", "session_secret"})
#: What each variable expects, when pydantic's own message says less.
_EXPECTED = {
    "now": "an ISO-8601 instant, e.g. 2016-05-23T09:00:00+00:00 (no offset: UTC)",
    "log_format": "console or json",
}


def env_name(field: str) -> str:
    """Return the environment variable a settings field is read from."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return alias if isinstance(alias, str) else f"STALLWATCH_{field.upper()}"


def masked_url(url: str) -> str:
    """Return a database URL as it may be printed: every password as ``***``.

    Text rather than a parsed URL: a password holding an unescaped ``@`` is
    read by URL parsers as part of the host, so everything between ``user:``
    and the last ``@`` of the address goes; so does a ``password=`` option.
    """
    shown = re.sub(r"(://[^:/@?#]*:)[^?#]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", shown, flags=re.IGNORECASE)


def _shown(field: str, value: object) -> str:
    """Return a bad value as it may be printed: no secret, no password in a URL."""
    if field in _SECRETS:
        return "'***'"
    if field == "database_url" and isinstance(value, str):
        value = masked_url(value)
    return repr(value)


def describe_settings_error(error: ValidationError) -> list[str]:
    """Return one line per bad variable: its name, its value, what is expected."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        message = str(problem["msg"]).removeprefix("Value error, ")
        expected = _EXPECTED.get(field)
        if expected is not None:
            message = f"expected {expected} ({message})"
        name = field if field.isupper() else env_name(field)
        lines.append(
            f"bad setting {name}={_shown(field, problem.get('input'))}: {message}"
        )
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once."""
    return Settings()
