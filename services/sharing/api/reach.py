"""The access policy's answers for the data services (service clients only, scope policy:read)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from services.sharing.api.deps import CanReadPolicy, SessionDep
from services.sharing.domain.episodes import PRACTITIONER_REF_PATTERN
from services.sharing.domain.errors import InvalidRequest
from services.sharing.domain.organisations import OrganisationType
from services.sharing.domain.policy import SchoolWindow
from services.sharing.domain.reach import Basis, ChildGrant, SchoolGrant
from services.sharing.store.care_repository import EpisodeRepository, full_reach
from services.sharing.store.policy_version import policy_version
from services.sharing.store.repository import OrganisationRepository
from shared.contracts import policy as contract
from shared.contracts.social_care import SocialCareCategory, SocialCareEpisode, SocialCareEpisodes
from shared.identifiers import normalise_upn
from shared.problems import ProblemItem

router = APIRouter(tags=["policy"])


class _Terms:
    """A decision's distinct terms (the fields a window allows and its basis), numbered
    in the order its windows first name them: a social care's thousands of children
    share one or two, each written once."""

    def __init__(self) -> None:
        self._numbered: dict[tuple[tuple[contract.PupilField, ...], Basis], int] = {}
        self._same: dict[tuple[int, int], tuple[int, object]] = {}
        """By identity: a decision's windows on one statute share its fields and basis
        objects, found without hashing them (an enum hashes in Python). Each entry keeps
        its objects, so their ids stay theirs."""

    def number(self, fields: tuple[contract.PupilField, ...], basis: Basis) -> int:
        """The place in `listed` of these terms, listed now if new."""
        same = self._same.get((id(fields), id(basis)))
        if same is not None:
            return same[0]
        found = self._numbered.setdefault((fields, basis), len(self._numbered))
        self._same[id(fields), id(basis)] = (found, (fields, basis))
        return found

    def listed(self) -> list[dict[str, Any]]:
        """`contract.Terms` as data, in the order numbered."""
        return [
            {
                "fields": list(fields),
                "basis": {"kind": b.kind, "id": b.id, "legal_basis": b.legal_basis},
            }
            for fields, b in self._numbered
        ]


def _window(window: SchoolWindow) -> dict[str, Any]:
    return {"urn": window.urn, "from_date": window.from_date, "to_date": window.to_date}


def _school(grant: SchoolGrant, terms: _Terms) -> dict[str, Any]:
    return _window(grant.window) | {"terms": terms.number(grant.fields, grant.basis)}


def _child(grant: ChildGrant, terms: _Terms) -> dict[str, Any]:
    return {
        "upn": grant.upn,
        "from_date": grant.from_date,
        "to_date": grant.to_date,
        "terms": terms.number(grant.fields, grant.basis),
        "episode_id": grant.episode_id,
        "category": grant.category,
        "practitioner_ref": grant.practitioner_ref,
        "schools": None if grant.schools is None else [_window(s) for s in grant.schools],
    }


@router.get(
    "/policy/reach",
    response_model=contract.Reach,
    responses={
        200: {
            "headers": {
                contract.POLICY_VERSION_HEADER: {
                    "description": "The policy version the answer was decided under: "
                    "with its as_of, the pair GET /v1/policy/version gives.",
                    "schema": {"type": "integer"},
                }
            }
        }
    },
)
def reach(
    organisation_id: Annotated[str, Query(description="The organisation asking to see data.")],
    session: SessionDep,
    _service: CanReadPolicy,
    actor: Annotated[
        str | None,
        Query(
            pattern=PRACTITIONER_REF_PATTERN,
            description="The practitioner the caller acts for (the token's act.sub), if any.",
        ),
    ] = None,
) -> Response:
    """Which schools and children the caller may see, over which dates, which fields, and why.

    Decided on today's date: open episodes, agreements in force, trust memberships. An
    actor is only meaningful for children's social care (a practitioner's caseload).
    """
    organisation = OrganisationRepository(session).require(organisation_id)
    if actor is not None and organisation.type != OrganisationType.SOCIAL_CARE:
        raise InvalidRequest(
            "Only children's social care acts for a practitioner.",
            [
                ProblemItem(
                    location="query:actor",
                    code="actor_not_applicable",
                    detail=f"an organisation of type {organisation.type} has no practitioners",
                )
            ],
        )
    today = date.today()
    # Read before deciding: the answer is never older than the version it is filed under.
    version = policy_version(session)
    decision = full_reach(session, organisation, actor=actor, as_of=today)
    # `contract.Reach` written from the decision by orjson: a social care's Reach names
    # thousands of children, and a model for each (and its basis) took most of the
    # answer's time (the tests read every answer back through the model).
    terms = _Terms()
    schools = [_school(g, terms) for g in decision.schools]
    children = [_child(g, terms) for g in decision.children]
    document = {
        "organisation_id": organisation.id,
        "organisation_type": organisation.type,
        "actor": actor,
        "as_of": today,
        "all_schools": decision.all_schools,
        "all_schools_fields": list(decision.all_schools_fields),
        "pupil_level": decision.pupil_level,
        "terms": terms.listed(),
        "schools": schools,
        "children": children,
    }
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={contract.POLICY_VERSION_HEADER: str(version)},
    )


@router.get("/policy/social-care-episodes")
def social_care_episodes(
    session: SessionDep,
    _service: CanReadPolicy,
    upn: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{13}$")]],
        Query(min_length=1, max_length=500, description="The children's UPNs."),
    ],
    la_code: Annotated[
        str | None, Query(pattern=r"^\d{3}$", description="Only this authority's episodes.")
    ] = None,
) -> SocialCareEpisodes:
    """Episodes of these children, for breakdowns by social-care status.

    A data service shows a caller a child's status only where that caller's Reach lists
    the child with the field social_care (a virtual school's own children).
    """
    rows = EpisodeRepository(session).for_upns([normalise_upn(u) for u in upn], la_code)
    return SocialCareEpisodes(
        episodes=[
            SocialCareEpisode(
                upn=r.upn,
                category=SocialCareCategory(r.category),
                start_date=r.start_date,
                end_date=r.end_date,
                la_code=r.la_code,
                practitioner_ref=r.practitioner_ref,
            )
            for r in rows
        ]
    )
