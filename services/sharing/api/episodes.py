"""Episodes of children with a social worker: recorded, corrected and closed by social care.

A social care client sees and changes its own authority's episodes; acting for a
practitioner (a token-exchange token), only that practitioner's caseload. A virtual school
reads its authority's episodes. Anything else is not found.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from sqlmodel import Session

from services.sharing.api.deps import CanReadEpisodes, CanWriteEpisodes, Cursor, Limit, SessionDep
from services.sharing.care_schemas import (
    EpisodeChange,
    EpisodeCreate,
    EpisodeHistory,
    EpisodeHistoryEntry,
    EpisodePage,
    EpisodePublic,
)
from services.sharing.clients.ingest import IngestClient
from services.sharing.domain.episodes import (
    ChildIdentity,
    EpisodeValues,
    IdentifiedBy,
    action_of,
    identity_problems,
    require_match,
    values_problems,
)
from services.sharing.domain.errors import InvalidRequest
from services.sharing.domain.organisations import OrganisationType
from services.sharing.store.care_models import CareEpisode
from services.sharing.store.care_repository import (
    Editor,
    EpisodeRepository,
    EpisodeScope,
    values_of,
)
from services.sharing.store.models import Organisation
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, next_cursor
from services.sharing.store.repository import OrganisationRepository
from shared.auth import Principal
from shared.identifiers import check_upn, normalise_upn
from shared.problems import ProblemItem

router = APIRouter(tags=["episodes"])

EpisodeId = Annotated[str, Path(description="The episode's id.")]
MATCH_RESPONSES: dict[int | str, dict[str, str]] = {
    409: {"description": "The child already has an episode of this category over these dates."},
    503: {"description": "The pupil rolls could not be searched to identify the child."},
}


def episode_public(row: CareEpisode) -> EpisodePublic:
    return EpisodePublic.model_validate(row, from_attributes=True)


def _organisation(session: Session, principal: Principal) -> Organisation:
    organisation = OrganisationRepository(session).get(principal.organisation_id or "")
    if organisation is None or organisation.la_code is None:
        raise HTTPException(403, "The token names no organisation that holds episodes.")
    return organisation


def _scope(session: Session, principal: Principal, *, writing: bool) -> EpisodeScope:
    organisation = _organisation(session, principal)
    kind = OrganisationType(organisation.type)
    readers = (OrganisationType.SOCIAL_CARE, OrganisationType.VIRTUAL_SCHOOL)
    if kind is OrganisationType.SOCIAL_CARE or (not writing and kind in readers):
        assert organisation.la_code is not None
        return EpisodeScope(organisation.la_code, principal.actor)
    raise HTTPException(403, "Only children's social care records episodes.")


def _ingest(request: Request) -> IngestClient:
    client: IngestClient = request.state.ingest
    return client


@router.post("/episodes", status_code=status.HTTP_201_CREATED, responses=MATCH_RESPONSES)
def record_episode(
    body: EpisodeCreate, request: Request, session: SessionDep, principal: CanWriteEpisodes
) -> EpisodePublic:
    """Record an episode; a child without a UPN is found on the rolls or refused (never guessed).

    The rolls are searched before this request touches the database: the search needs a
    token and keys from this very service, and on SQLite an open write transaction here
    would lock them out.
    """
    if principal.organisation_type != OrganisationType.SOCIAL_CARE:
        raise HTTPException(403, "Only children's social care records episodes.")
    child = ChildIdentity(**body.child.model_dump())
    practitioner = body.practitioner_ref if body.practitioner_ref is not None else principal.actor
    draft = EpisodeValues(
        upn=normalise_upn(child.upn) if child.upn and not child.needs_match else "",
        category=body.category,
        start_date=body.start_date,
        end_date=body.end_date,
        practitioner_ref=practitioner,
        la_code="",
    )
    problems = identity_problems(child) + values_problems(draft, actor=principal.actor)
    if problems:
        raise InvalidRequest(f"The episode has {len(problems)} problem(s).", problems)
    identified_by = IdentifiedBy.UPN
    if child.needs_match:
        # identity_problems guaranteed the three are present.
        match = _ingest(request).match(
            child.legal_forename or "", child.legal_surname or "", child.date_of_birth or date.min
        )
        draft = replace(draft, upn=require_match(match))
        identified_by = IdentifiedBy.MATCH
    organisation = _organisation(session, principal)
    scope = _scope(session, principal, writing=True)
    row = EpisodeRepository(session).record(
        replace(draft, la_code=scope.la_code),
        social_care_id=organisation.id,
        identified_by=identified_by,
        editor=Editor(principal.client_id, principal.actor),
    )
    return episode_public(row)


@router.get("/episodes")
def list_episodes(
    session: SessionDep,
    principal: CanReadEpisodes,
    upn: Annotated[str | None, Query(max_length=13, description="Only this child's.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EpisodePage:
    """The episodes the caller may see, in a stable order, a page at a time."""
    scope = _scope(session, principal, writing=False)
    rows = EpisodeRepository(session).page(
        scope, upn=normalise_upn(upn) if upn else None, after=decode_cursor(cursor), limit=limit
    )
    return EpisodePage(
        items=[episode_public(r) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/episodes/{episode_id}")
def get_episode(
    episode_id: EpisodeId, session: SessionDep, principal: CanReadEpisodes
) -> EpisodePublic:
    """One episode, if the caller may see it."""
    scope = _scope(session, principal, writing=False)
    return episode_public(EpisodeRepository(session).require(episode_id, scope))


@router.patch("/episodes/{episode_id}", responses=MATCH_RESPONSES)
def change_episode(
    episode_id: EpisodeId, body: EpisodeChange, session: SessionDep, principal: CanWriteEpisodes
) -> EpisodePublic:
    """Correct an episode, or close it by giving its end_date; the history keeps both sides."""
    scope = _scope(session, principal, writing=True)
    episodes = EpisodeRepository(session)
    row = episodes.require(episode_id, scope)
    given = body.model_dump(exclude_unset=True)
    given.pop("reason", None)
    problems: list[ProblemItem] = [
        ProblemItem(location=f"/{name}", code="required", detail=f"{name} cannot be null")
        for name in ("upn", "category", "start_date")
        if name in given and given[name] is None
    ]
    if not given:
        problems.append(ProblemItem(code="nothing_to_change", detail="give at least one field"))
    if given.get("upn") is not None:
        check = check_upn(given["upn"])
        if not check.valid:
            problems.append(
                ProblemItem(location="/upn", code="invalid_upn", detail=check.problem or "")
            )
        given["upn"] = check.upn
    if problems:
        raise InvalidRequest(f"The change has {len(problems)} problem(s).", problems)
    before = values_of(row)
    after = replace(before, **given)
    row = episodes.change(
        row,
        after,
        action=action_of(before, after),
        editor=Editor(principal.client_id, principal.actor),
        reason=body.reason,
    )
    return episode_public(row)


@router.get("/episodes/{episode_id}/history")
def episode_history(
    episode_id: EpisodeId, session: SessionDep, principal: CanReadEpisodes
) -> EpisodeHistory:
    """Every recording, correction and closure of the episode: who, when, before and after."""
    scope = _scope(session, principal, writing=False)
    episodes = EpisodeRepository(session)
    row = episodes.require(episode_id, scope)
    return EpisodeHistory(
        episode_id=row.id,
        items=[
            EpisodeHistoryEntry(
                version=c.version,
                action=c.action,
                changed_at=c.changed_at,
                client_id=c.client_id,
                actor=c.actor,
                reason=c.reason,
                before=json.loads(c.before) if c.before else None,
                after=json.loads(c.after),
            )
            for c in episodes.history(row.id)
        ],
    )
