"""Settings of the ingest service, read from `INGEST_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabaseSettings, ServiceSettings


class IngestSettings(ServiceSettings):
    """Everything the ingest service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_", env_nested_delimiter="__", extra="ignore"
    )

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite:///.data/ingest.db")
    )
    max_return_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="Largest return body accepted; larger ones get 413 before being read.",
    )
    max_errors: int = Field(
        default=100, description="How many problems a rejected return lists in full."
    )
