"""Settings of the sharing service, read from `SHARING_*` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import DatabaseSettings, ServiceSettings


class SharingSettings(ServiceSettings):
    """Everything the sharing service reads from its environment.

    `oauth.issuer` is this service's own issuer identifier: it goes into every token's
    `iss` and into the RFC 8414 metadata.
    """

    model_config = SettingsConfigDict(
        env_prefix="SHARING_", env_nested_delimiter="__", extra="ignore"
    )

    database: DatabaseSettings = Field(
        default_factory=lambda: DatabaseSettings(url="sqlite:///.data/sharing.db")
    )
    access_token_lifetime_seconds: int = Field(
        default=900,
        gt=0,
        description="Lifetime of issued access tokens (exp - iat), in seconds.",
    )
    allow_plain_http_token_requests: bool = Field(
        default=False,
        description="Accept token requests over plain http from hosts other than loopback "
        "(a private network behind a TLS proxy, e.g. compose). Loopback is always accepted.",
    )
