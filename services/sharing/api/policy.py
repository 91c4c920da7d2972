"""Access decisions the other services ask for (service clients only, scope policy:read)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path

from services.sharing.api.deps import CanReadPolicy, SessionDep
from services.sharing.domain import policy
from services.sharing.domain.organisations import OrganisationType
from services.sharing.store.policy_version import policy_version
from services.sharing.store.repository import MembershipRepository, OrganisationRepository
from shared.contracts.directory import SchoolWindow, VisibleSchools
from shared.contracts.policy import PolicyVersion

router = APIRouter(tags=["policy"])


@router.get("/policy/version")
def version(session: SessionDep, _service: CanReadPolicy) -> PolicyVersion:
    """The policy's version and the day it decides on. A service holding an answer given
    under the same pair may reuse it; under any other it must ask again, so a closed
    episode or a revoked agreement applies from the next request."""
    return PolicyVersion(version=policy_version(session), as_of=date.today())


@router.get("/policy/organisations/{organisation_id}/visible-schools")
def visible_schools(
    organisation_id: Annotated[str, Path(description="The organisation asking to see data.")],
    session: SessionDep,
    _service: CanReadPolicy,
) -> VisibleSchools:
    """Which schools the organisation may see, over which dates, and at what detail."""
    organisation = OrganisationRepository(session).require(organisation_id)
    kind = OrganisationType(organisation.type)
    if kind is OrganisationType.SCHOOL and organisation.urn is not None:
        decision = policy.school_visibility(organisation.urn)
    elif kind is OrganisationType.TRUST:
        decision = policy.trust_visibility(
            policy.Membership(urn, m.start_date, m.end_date)
            for m, urn in MembershipRepository(session).for_trust_with_urns(organisation.id)
        )
    elif kind is OrganisationType.LOCAL_AUTHORITY and organisation.la_code is not None:
        decision = policy.local_authority_visibility(
            OrganisationRepository(session).urns_in_area(organisation.la_code)
        )
    elif kind is OrganisationType.DFE:
        decision = policy.dfe_visibility()
    else:
        decision = policy.no_school_visibility()
    return VisibleSchools(
        organisation_id=organisation.id,
        organisation_type=organisation.type,
        all_schools=decision.all_schools,
        pupil_level=decision.pupil_level,
        schools=[
            SchoolWindow(urn=w.urn, from_date=w.from_date, to_date=w.to_date)
            for w in decision.schools
        ],
    )
