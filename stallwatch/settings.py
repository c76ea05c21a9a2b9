"""The one settings object, read once at start-up from ``STALLWATCH_*`` variables."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    port: int = 8000
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
    smtp_port: int = 25
    smtp_from: str = "stallwatch@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC key of signed webhooks; no default."
    )

    @field_validator("alert_rules", mode="before")
    @classmethod
    def _empty_turns_alerts_off(cls, value: object) -> object:
        """Read an empty STALLWATCH_ALERT_RULES as "no alerts"."""
        return None if value == "" else value

    @field_validator("now")
    @classmethod
    def _now_in_utc(cls, value: datetime | None) -> datetime | None:
        """Read a replay moment without an offset as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once."""
    return Settings()
