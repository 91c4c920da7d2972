"""The roll entries born on one day: the candidates a name match is decided among."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from services.ingest.domain.pupil_matching import RollEntry
from services.ingest.store.models import EnrolmentRecord


def born_on(session: Session, date_of_birth: date) -> list[RollEntry]:
    """Every roll entry (any school, current or past) with this date of birth.

    Names are normalised in Python (`domain.pupil_matching`), the same on every backend,
    so the database narrows by date of birth only.
    """
    statement = select(
        EnrolmentRecord.upn, EnrolmentRecord.legal_forename, EnrolmentRecord.legal_surname
    ).where(col(EnrolmentRecord.date_of_birth) == date_of_birth)
    return [RollEntry(upn, forename, surname) for upn, forename, surname in session.exec(statement)]
