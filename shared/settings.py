"""Settings fragments that every service composes into its own `BaseSettings` class.

Each service reads its settings from the environment with its own prefix and `__` as
the nested delimiter, e.g. `INGEST_DATABASE__URL` or `METRICS_OAUTH__ISSUER`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["development", "test", "production"]

# The development default secret; refused outside development and test (see below).
DEV_SERVICE_SECRET = "dev-service-secret-change-me"
DEFAULT_ISSUER = "http://127.0.0.1:8003"


class DatabaseSettings(BaseModel):
    """Where a service keeps its own tables."""

    url: str = Field(
        description="SQLAlchemy URL: sqlite:///path.db (embedded default) or "
        "postgresql+psycopg://user:password@host:5432/dbname (production).",
    )
    owner_url: str | None = Field(
        default=None,
        description="PostgreSQL only: the same database as the role that owns its tables, "
        "for migrations. Migrating then also grants `url`'s role what the service needs and "
        "no more (`shared.db.grant_runtime_privileges`), so the running service cannot "
        "alter or drop a table nor disable a trigger, and only reads and inserts into "
        "append-only tables (the audit trail). Unset: `url` migrates as well.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    @model_validator(mode="after")
    def _owner_apart_from_runtime(self) -> DatabaseSettings:
        if self.owner_url is None:
            return self
        try:
            owner, runtime = make_url(self.owner_url), make_url(self.url)
        except ArgumentError as exc:
            raise ValueError(f"database: {exc}") from exc
        problems = []
        if {owner.get_backend_name(), runtime.get_backend_name()} != {"postgresql"}:
            problems.append("both URLs must be PostgreSQL (SQLite has no roles)")
        where = (owner.host, owner.port or 5432, owner.database)
        if where != (runtime.host, runtime.port or 5432, runtime.database):
            problems.append("both URLs must name the same server and database")
        if not runtime.username or owner.username == runtime.username:
            problems.append("url must name a role of its own, not the owner")
        if problems:
            raise ValueError("database.owner_url: " + "; ".join(problems))
        return self


class OAuthSettings(BaseModel):
    """How a resource server verifies the access tokens it is given."""

    issuer: str = Field(
        default=DEFAULT_ISSUER,
        description="The authorization server's issuer identifier (the `iss` claim).",
    )
    jwks_url: str | None = Field(
        default=None,
        description="Where the issuer publishes its signing keys; defaults to "
        "<issuer>/.well-known/jwks.json.",
    )
    token_endpoint: str | None = Field(
        default=None,
        description="Where this service fetches its own tokens; defaults to <issuer>/oauth/token "
        "(set it when the issuer's public URL is not reachable from inside the deployment).",
    )
    jwks_refetch_interval_seconds: float = Field(
        default=10.0,
        description="At most one JWKS refetch per this many seconds when a token names an "
        "unknown key, so a flood of bad tokens cannot hammer the issuer.",
    )
    jwks_max_age_seconds: float = Field(
        default=300.0,
        description="Cached signing keys are refetched after this long, so a retired key "
        "stops verifying within it.",
    )
    leeway_seconds: int = Field(default=30, description="Clock skew tolerated on exp/iat.")

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"

    @property
    def token_url(self) -> str:
        return self.token_endpoint or f"{self.issuer.rstrip('/')}/oauth/token"


class ServiceClientSettings(BaseModel):
    """The OAuth client this service uses when it calls another service."""

    client_id: str = Field(default="attx-service", description="Client id of this service.")
    client_secret: SecretStr = Field(
        default=SecretStr(DEV_SERVICE_SECRET), description="Client secret of this service."
    )


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    environment: Environment = Field(
        default="development", description="development, test or production."
    )
    database: DatabaseSettings
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    service_client: ServiceClientSettings = Field(default_factory=ServiceClientSettings)
    sharing_url: str = Field(
        default="http://127.0.0.1:8003", description="Base URL of the sharing service."
    )
    ingest_url: str = Field(
        default="http://127.0.0.1:8001", description="Base URL of the ingest service."
    )
    metrics_url: str = Field(
        default="http://127.0.0.1:8002", description="Base URL of the metrics service."
    )

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if (
            self.environment == "production"
            and self.service_client.client_secret.get_secret_value() == DEV_SERVICE_SECRET
        ):
            raise ValueError(
                "service_client.client_secret is the development default; "
                "set a real secret outside development"
            )
        return self
