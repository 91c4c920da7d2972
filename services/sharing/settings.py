"""Settings of the sharing service, read from `SHARING_*` environment variables."""

from __future__ import annotations

from cryptography.fernet import Fernet
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.sharing.domain.sealing import DEV_SEALING_KEY, Sealer
from shared.settings import DatabaseSettings, ServiceSettings


class WebhookSettings(BaseModel):
    """Alert delivery: the dispatcher thread, retries, leases, and which targets are allowed."""

    dispatcher_enabled: bool = Field(
        default=True, description="Run the thread that delivers webhooks from the outbox."
    )
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the dispatcher looks for due deliveries."
    )
    batch_size: int = Field(default=50, ge=1, le=1000, description="Deliveries claimed at once.")
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a claimed delivery is held before another "
        "dispatcher may take it (a dispatcher that died mid-send loses its lease).",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per-request timeout.")
    max_attempts: int = Field(
        default=8, ge=1, description="Failed attempts after which a delivery is dead-lettered."
    )
    backoff_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first failure; doubles each time."
    )
    backoff_max_seconds: float = Field(default=21600.0, gt=0, description="Longest wait.")
    secret_rotation_overlap_seconds: float = Field(
        default=86400.0, ge=0, description="How long the old secret still signs after rotation."
    )
    allow_local_targets: bool = Field(
        default=False,
        description="Development only: allow http:// and loopback/private webhook targets.",
    )


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
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    sealing_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr(DEV_SEALING_KEY)],
        min_length=1,
        description="Fernet keys (JSON list) sealing the signing keys and webhook secrets "
        "at rest: the first seals, all open. To rotate, put a new key first, restart, "
        "then drop the old one. Make one with "
        "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'`.",
    )

    @field_validator("sealing_keys")
    @classmethod
    def _sealing_keys_are_fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for n, key in enumerate(keys):
            try:
                Fernet(key.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"sealing_keys[{n}] is not a Fernet key: {exc}") from exc
        return keys

    @model_validator(mode="after")
    def _no_local_webhooks_in_production(self) -> SharingSettings:
        if self.environment == "production" and self.webhooks.allow_local_targets:
            raise ValueError("webhooks.allow_local_targets is for development only")
        return self

    @model_validator(mode="after")
    def _no_dev_sealing_key_in_production(self) -> SharingSettings:
        if self.environment == "production" and any(
            k.get_secret_value() == DEV_SEALING_KEY for k in self.sealing_keys
        ):
            raise ValueError("sealing_keys holds the development key; set real keys")
        return self

    def sealer(self) -> Sealer:
        """The sealer of these keys."""
        return Sealer([k.get_secret_value() for k in self.sealing_keys])
