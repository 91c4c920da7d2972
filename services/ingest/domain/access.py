"""Who may submit and read a school's returns: the school itself, or its trust on those dates."""

from __future__ import annotations

from datetime import date

from services.ingest.domain.model import DateRange
from shared.contracts.directory import SchoolRecord

ALWAYS = DateRange(date.min, date.max)


def caller_windows(organisation_id: str | None, school: SchoolRecord) -> list[DateRange]:
    """The date ranges over which `organisation_id` acts for `school`; empty means never."""
    if organisation_id is None:
        return []
    if organisation_id == school.organisation_id:
        return [ALWAYS]
    return [
        DateRange(m.start_date, m.end_date or date.max)
        for m in school.trusts
        if m.trust_id == organisation_id
    ]


def covers(windows: list[DateRange], span: DateRange) -> bool:
    """Whether one window holds every day of `span`."""
    return any(w.start <= span.start and span.end <= w.end for w in windows)
