"""Settings of the ingest service, read from `INGEST_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabaseSettings, ServiceSettings


class IngestSettings(ServiceSettings):
    """Everything the ingest service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INGEST_", env_nested_delimiter="__", extra="ignore")

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite:///.data/ingest.db")
    )
