"""Request and response bodies of the sharing API (never the table models themselves)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.sharing.domain.organisations import OrganisationType


class OrganisationCreate(BaseModel):
    """A new organisation; which identifiers are required depends on `type`.

    school: urn, dfe_number, phase; trust: group_uid; local_authority: la_code;
    virtual_school and social_care: la_code of their (existing) local authority;
    dfe: name only. The operator organisation is created by `attx` bootstrap, not here.
    """

    model_config = ConfigDict(extra="forbid")

    type: OrganisationType
    name: str = Field(max_length=200)
    urn: str | None = Field(default=None, description="School: 6-digit URN.", examples=["100001"])
    dfe_number: str | None = Field(
        default=None,
        description="School: 3-digit LA code + 4-digit establishment number.",
        examples=["2024321"],
    )
    phase: str | None = Field(
        default=None,
        description="School: nursery, primary, secondary, all-through, special, PRU, 16-plus.",
    )
    group_uid: str | None = Field(default=None, description="Trust: GIAS group UID.")
    la_code: str | None = Field(
        default=None,
        description="Local authority: its 3-digit code. Virtual school or social care: the "
        "code of the local authority it belongs to.",
    )


class OrganisationPublic(BaseModel):
    """An organisation of the directory."""

    id: str
    type: OrganisationType
    name: str
    urn: str | None = None
    dfe_number: str | None = None
    phase: str | None = None
    group_uid: str | None = None
    la_code: str | None = Field(
        default=None, description="The local-authority area (a school's from its DfE number)."
    )
    created_at: datetime


class OrganisationPage(BaseModel):
    """One page of organisations; pass `next_cursor` back as `cursor` for the next."""

    items: list[OrganisationPublic]
    next_cursor: str | None = None


class TrustMembershipCreate(BaseModel):
    """A school joining a trust on `start_date` (until `end_date` inclusive, if known)."""

    model_config = ConfigDict(extra="forbid")

    school_id: str
    trust_id: str
    start_date: date
    end_date: date | None = None


class TrustMembershipEnd(BaseModel):
    """The last day of a school's time in a trust."""

    model_config = ConfigDict(extra="forbid")

    end_date: date


class TrustMembershipPublic(BaseModel):
    """A school's time in a trust."""

    id: str
    school_id: str
    trust_id: str
    start_date: date
    end_date: date | None = None


class TrustMembershipPage(BaseModel):
    """One page of trust memberships."""

    items: list[TrustMembershipPublic]
    next_cursor: str | None = None


class ClientCreate(BaseModel):
    """A new OAuth client for one organisation, in one role, with its allowed scopes."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: str
    role: str = Field(examples=["school_system"])
    scopes: list[str] = Field(examples=[["returns:write", "returns:read"]])
    name: str = Field(default="", max_length=200, description="What the client is, for people.")


class ClientPublic(BaseModel):
    """An OAuth client, without its secret."""

    client_id: str
    organisation_id: str
    name: str
    role: str
    scopes: list[str]
    created_at: datetime
    secret_rotated_at: datetime
    revoked_at: datetime | None = None


class ClientWithSecret(ClientPublic):
    """A client and its secret: shown in this response only, never again."""

    client_secret: str


class ClientPage(BaseModel):
    """One page of OAuth clients."""

    items: list[ClientPublic]
    next_cursor: str | None = None


class SigningKeyPublic(BaseModel):
    """A token-signing key, without key material."""

    kid: str
    alg: str
    status: str = Field(description="active (signs), published (verifies only) or retired.")
    created_at: datetime
    retired_at: datetime | None = None


class SigningKeyList(BaseModel):
    """Every signing key, newest first."""

    items: list[SigningKeyPublic]


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str]
