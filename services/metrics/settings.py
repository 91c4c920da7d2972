"""Settings of the metrics service, read from `METRICS_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabaseSettings, ServiceSettings


class MetricsSettings(ServiceSettings):
    """Everything the metrics service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="METRICS_", env_nested_delimiter="__", extra="ignore"
    )

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite:///.data/metrics.db")
    )
