"""Pupil-level rows as views list them: enrolments with their characteristics, and their
register marks of a few days. Read by the repository from the database, and held by
`store.week_columns` for the children view (the same reads, the same rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, String, cast, func, select

from services.metrics.domain.calendar import Period
from services.metrics.store.projection import enrolment_t, mark_t
from shared.contracts.changes import Stay, on_roll, stays_from_json


class EnrolmentRow(NamedTuple):
    """One enrolment with its characteristics, as pupil views list it (a tuple: views
    list thousands)."""

    id: int
    school_urn: str
    upn: str
    upn_temporary: bool
    legal_surname: str
    legal_forename: str
    date_of_birth: dt.date
    gender: str
    nc_year: str
    sen_provision: str
    fsm_eligible: bool
    ethnicity: str
    ethnicity_group: str
    enrolment_status: str
    entry_date: dt.date
    leaving_date: dt.date | None
    earlier_stays: tuple[Stay, ...]
    stays: tuple[tuple[dt.date, dt.date | None], ...]
    """Every stay on the roll, oldest first: (entry, leaving or None while on roll)."""

    def on_roll(self, day: dt.date) -> bool:
        """Whether `day` falls in one of the stays."""
        return on_roll(self.stays, day)


ROW_COLUMNS = EnrolmentRow._fields[:-1]
"""The enrolment columns an `EnrolmentRow` is read from, in the order of its fields."""


def enrolment_rows(found: Iterable[Any]) -> list[EnrolmentRow]:
    """`EnrolmentRow`s of rows read as `ROW_COLUMNS` (positionally: views build thousands)."""
    rows = []
    for *values, entry, leaving, stored in found:
        earlier = tuple(stays_from_json(stored))
        stays = (*[(s.entry_date, s.leaving_date) for s in earlier], (entry, leaving))
        rows.append(EnrolmentRow._make((*values, entry, leaving, earlier, stays)))
    return rows


Mark = tuple[str, dt.date, str, str]
"""A register mark as pupil views list it: school URN, date, session, code."""


def marks_of_enrolments(
    connection: Connection, enrolments: ColumnElement[bool], period: Period
) -> Iterator[tuple[int, str, str, tuple[Mark, ...]]]:
    """(id, school, UPN, marks) of the enrolments `enrolments` selects that have marks in
    the period, their marks in date and session order. Enrolments at one school with the
    same marks share one tuple of them (a school's pupils often have the same week):
    readers may publish each tuple once."""
    m, e = mark_t.c, enrolment_t.c
    # One row per enrolment, its marks as `YYYY-MM-DD` + session + code joined by
    # commas, aggregated from one index range of the marks' key: a view of 2,000
    # children reads 2,000 rows, not 20,000, and nothing is sorted to group them.
    # No code in the register's code set holds a comma (ingest admits no other),
    # and a date cast to text is ISO on both backends (psycopg needs PostgreSQL's
    # DateStyle ISO anyway).
    listed = (
        select(func.aggregate_strings(cast(m.date, String) + m.session + m.code, ","))
        .where(
            m.school_urn == e.school_urn,
            m.upn == e.upn,
            m.date.between(period.start, period.end),
        )
        .scalar_subquery()
    )
    stmt = select(e.id, e.school_urn, e.upn, listed).where(enrolments)
    # Each distinct mark of a school, and each distinct run of them, is made once.
    parsed: dict[tuple[str, str], Mark] = {}
    runs: dict[tuple[str, str], tuple[Mark, ...]] = {}
    for enrolment_id, urn, upn, joined in connection.execute(stmt).all():
        if joined is None:
            continue  # no marks in the period
        marks = runs.get((urn, joined))
        if marks is None:
            made = []
            for t in sorted(joined.split(",")):  # ISO dates, then AM before PM
                known = parsed.get((urn, t))
                if known is None:
                    day = dt.date.fromisoformat(t[:10])
                    known = parsed[urn, t] = (urn, day, t[10:12], t[12:])
                made.append(known)
            marks = runs[urn, joined] = tuple(made)
        yield enrolment_id, urn, upn, marks
