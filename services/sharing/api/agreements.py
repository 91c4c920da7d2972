"""Data-sharing agreements: a school or trust grants named pupils to another organisation.

Both parties read the agreement and its receipts; only the grantor revokes. Whether the
grantor can see each named pupil is enforced when the grantee reads (the policy limits
the grantee to the grantor's own schools and windows), not when the agreement is made:
sharing does not hold the rolls.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlmodel import Session

from services.sharing.api.deps import CanGrant, CanReadAgreements, Cursor, Limit, SessionDep
from services.sharing.care_schemas import (
    AgreementCreate,
    AgreementPage,
    AgreementPublic,
    AgreementRevoke,
    AgreementSummary,
    ReceiptList,
    ReceiptPublic,
)
from services.sharing.domain.agreements import GRANTORS, AgreementDraft, draft_problems
from services.sharing.domain.errors import InvalidRequest
from services.sharing.domain.organisations import OrganisationType
from services.sharing.store.care_models import SharingAgreement
from services.sharing.store.care_repository import AgreementRepository
from services.sharing.store.models import Organisation
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, next_cursor
from services.sharing.store.repository import OrganisationRepository
from shared.auth import Principal

router = APIRouter(tags=["agreements"])

AgreementId = Annotated[str, Path(description="The agreement's id.")]


def _caller(session: Session, principal: Principal) -> Organisation:
    organisation = OrganisationRepository(session).get(principal.organisation_id or "")
    if organisation is None:
        raise HTTPException(403, "The token names no organisation.")
    return organisation


def agreement_public(session: Session, row: SharingAgreement) -> AgreementPublic:
    return AgreementPublic.model_validate(
        {
            **row.model_dump(),
            "fields": row.fields.split(),
            "upns": AgreementRepository(session).upns(row.id),
        }
    )


@router.post("/agreements", status_code=status.HTTP_201_CREATED)
def grant_agreement(
    body: AgreementCreate, session: SessionDep, principal: CanGrant
) -> AgreementPublic:
    """Grant named pupils, named fields, for a purpose and lawful basis, until an end date.

    Every problem is listed at once; a grant receipt is written for both parties.
    """
    grantor = _caller(session, principal)
    if OrganisationType(grantor.type) not in GRANTORS:
        raise HTTPException(403, "Only schools and trusts grant access to their pupils.")
    grantee = OrganisationRepository(session).get(body.grantee_id)
    today = date.today()
    draft = AgreementDraft(
        grantee_type=OrganisationType(grantee.type) if grantee else None,
        grantee_is_grantor=grantee is not None and grantee.id == grantor.id,
        purpose=body.purpose,
        lawful_basis=body.lawful_basis,
        special_category_condition=body.special_category_condition,
        fields=body.fields,
        upns=body.upns,
        starts_on=body.starts_on or today,
        ends_on=body.ends_on,
    )
    problems = draft_problems(draft, today=today)
    if problems:
        raise InvalidRequest(f"The agreement has {len(problems)} problem(s).", problems)
    row = AgreementRepository(session).grant(
        grantor.id, body.grantee_id, draft, principal.client_id
    )
    return agreement_public(session, row)


@router.get("/agreements")
def list_agreements(
    session: SessionDep,
    principal: CanReadAgreements,
    side: Annotated[
        Literal["grantor", "grantee"] | None,
        Query(description="Only those the caller granted, or only those granted to it."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AgreementPage:
    """The agreements the caller is a party to, a page at a time."""
    organisation = _caller(session, principal)
    rows = AgreementRepository(session).page(
        organisation.id, side=side, after=decode_cursor(cursor), limit=limit
    )
    return AgreementPage(
        items=[AgreementSummary.model_validate(r, from_attributes=True) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/agreements/{agreement_id}")
def get_agreement(
    agreement_id: AgreementId, session: SessionDep, principal: CanReadAgreements
) -> AgreementPublic:
    """One agreement, to its grantor or grantee."""
    organisation = _caller(session, principal)
    row = AgreementRepository(session).require_party(agreement_id, organisation.id)
    return agreement_public(session, row)


@router.post("/agreements/{agreement_id}/revoke")
def revoke_agreement(
    agreement_id: AgreementId, body: AgreementRevoke, session: SessionDep, principal: CanGrant
) -> AgreementPublic:
    """End the agreement at once (the grantor only); a revocation receipt goes to both."""
    organisation = _caller(session, principal)
    agreements = AgreementRepository(session)
    row = agreements.require_party(agreement_id, organisation.id)
    if row.grantor_id != organisation.id:
        raise HTTPException(403, "Only the grantor revokes an agreement.")
    return agreement_public(session, agreements.revoke(row, principal.client_id, body.reason))


@router.get("/agreements/{agreement_id}/receipts")
def agreement_receipts(
    agreement_id: AgreementId, session: SessionDep, principal: CanReadAgreements
) -> ReceiptList:
    """The dated receipts of the grant and of any revocation, for either party."""
    organisation = _caller(session, principal)
    agreements = AgreementRepository(session)
    row = agreements.require_party(agreement_id, organisation.id)
    return ReceiptList(
        items=[
            ReceiptPublic.model_validate({**r.model_dump(), "details": json.loads(r.details)})
            for r in agreements.receipts(row.id)
        ]
    )
