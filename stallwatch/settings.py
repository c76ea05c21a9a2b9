"""The one settings object, read once at start-up from ``STALLWATCH_*`` variables."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
