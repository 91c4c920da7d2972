"""The organisation directory: organisations, schools by URN, trust memberships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from services.sharing.api.deps import CanAdminister, CanReadDirectory, Cursor, Limit, SessionDep
from services.sharing.domain.errors import InvalidRequest, NotFound
from services.sharing.domain.organisations import OrganisationDraft, OrganisationType, Window
from services.sharing.schemas import (
    OrganisationCreate,
    OrganisationPage,
    OrganisationPublic,
    TrustMembershipCreate,
    TrustMembershipEnd,
    TrustMembershipPage,
    TrustMembershipPublic,
)
from services.sharing.store.models import Organisation, TrustMembership
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, next_cursor
from services.sharing.store.repository import MembershipRepository, OrganisationRepository
from shared.contracts.directory import SchoolRecord
from shared.contracts.directory import TrustMembership as TrustMembershipContract
from shared.identifiers import URN_PATTERN
from shared.problems import ProblemItem

router = APIRouter(tags=["directory"])

OrganisationId = Annotated[str, Path(description="The organisation's id.")]


def organisation_public(row: Organisation) -> OrganisationPublic:
    return OrganisationPublic.model_validate(row, from_attributes=True)


def membership_public(row: TrustMembership) -> TrustMembershipPublic:
    return TrustMembershipPublic.model_validate(row, from_attributes=True)


@router.post(
    "/organisations",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "An identifier is already taken."}},
)
def create_organisation(
    body: OrganisationCreate, session: SessionDep, _admin: CanAdminister
) -> OrganisationPublic:
    """Add an organisation; every problem with the identifiers is reported at once."""
    if body.type is OrganisationType.OPERATOR:
        raise InvalidRequest(
            "The operator organisation is created by bootstrap, not through the API.",
            [
                ProblemItem(
                    location="/type",
                    code="operator_is_bootstrapped",
                    detail="use `attx` bootstrap to create the operator",
                )
            ],
        )
    draft = OrganisationDraft(**body.model_dump())
    return organisation_public(OrganisationRepository(session).add(draft))


@router.get("/organisations")
def list_organisations(
    session: SessionDep,
    _caller: CanReadDirectory,
    organisation_type: Annotated[
        OrganisationType | None, Query(alias="type", description="Only this type.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> OrganisationPage:
    """Organisations in a stable order, a page at a time."""
    rows = OrganisationRepository(session).page(
        organisation_type=organisation_type, after=decode_cursor(cursor), limit=limit
    )
    return OrganisationPage(
        items=[organisation_public(r) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/organisations/{organisation_id}")
def get_organisation(
    organisation_id: OrganisationId, session: SessionDep, _caller: CanReadDirectory
) -> OrganisationPublic:
    """One organisation."""
    return organisation_public(OrganisationRepository(session).require(organisation_id))


@router.get("/schools/{urn}")
def get_school(
    urn: Annotated[str, Path(pattern=URN_PATTERN, description="The school's 6-digit URN.")],
    session: SessionDep,
    _caller: CanReadDirectory,
) -> SchoolRecord:
    """A school by URN, with every trust it has belonged to and when."""
    school = OrganisationRepository(session).school_by_urn(urn)
    if school is None:
        raise NotFound(f"No school with URN {urn}.")
    organisations = OrganisationRepository(session)
    trusts: list[TrustMembershipContract] = []
    for membership in MembershipRepository(session).for_school(school.id):
        trust = organisations.require(membership.trust_id)
        trusts.append(
            TrustMembershipContract(
                trust_id=trust.id,
                group_uid=trust.group_uid or "",
                start_date=membership.start_date,
                end_date=membership.end_date,
            )
        )
    return SchoolRecord(
        organisation_id=school.id,
        urn=urn,
        dfe_number=school.dfe_number or "",
        la_code=school.la_code or "",
        name=school.name,
        phase=school.phase or "",
        trusts=trusts,
    )


@router.post(
    "/trust-memberships",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Overlaps another membership of the school."}},
)
def create_trust_membership(
    body: TrustMembershipCreate, session: SessionDep, _admin: CanAdminister
) -> TrustMembershipPublic:
    """A school joins a trust; a school is in at most one trust on any day."""
    row = MembershipRepository(session).add(
        body.school_id, body.trust_id, Window(body.start_date, body.end_date)
    )
    return membership_public(row)


@router.patch(
    "/trust-memberships/{membership_id}",
    responses={409: {"description": "The new dates overlap another membership."}},
)
def end_trust_membership(
    membership_id: Annotated[str, Path(description="The membership's id.")],
    body: TrustMembershipEnd,
    session: SessionDep,
    _admin: CanAdminister,
) -> TrustMembershipPublic:
    """Set the last day of a school's time in a trust (when it leaves or changes trust)."""
    return membership_public(MembershipRepository(session).end(membership_id, body.end_date))


@router.get("/trust-memberships")
def list_trust_memberships(
    session: SessionDep,
    _caller: CanReadDirectory,
    school_id: Annotated[str | None, Query(description="Only this school's.")] = None,
    trust_id: Annotated[str | None, Query(description="Only this trust's.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> TrustMembershipPage:
    """Trust memberships in a stable order, a page at a time."""
    rows = MembershipRepository(session).page(
        school_id=school_id, trust_id=trust_id, after=decode_cursor(cursor), limit=limit
    )
    return TrustMembershipPage(
        items=[membership_public(r) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )
