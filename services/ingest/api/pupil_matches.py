"""Finding a child on the rolls by legal names and date of birth (service clients only)."""

from __future__ import annotations

from fastapi import APIRouter

from services.ingest.api.deps import CanReadChanges, SessionDep
from services.ingest.domain.pupil_matching import match_pupil
from services.ingest.store.pupil_matching import born_on
from shared.contracts.pupil_matches import PupilMatch, PupilMatchRequest

router = APIRouter(tags=["pupil matching"])


@router.post("/pupil-matches")
def match_pupil_on_rolls(
    body: PupilMatchRequest, session: SessionDep, _service: CanReadChanges
) -> PupilMatch:
    """matched (with the UPN), ambiguous (how many pupils, none disclosed) or not_found.

    Scope changes:read: the change feed already shows a service every roll entry, so a
    match discloses no more. Ingest holds no postcodes, so none is taken.
    """
    return match_pupil(
        body.legal_forename, body.legal_surname, born_on(session, body.date_of_birth)
    )
