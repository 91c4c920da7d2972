"""Builders of change-feed payloads, as ingest would send them."""

from __future__ import annotations

import datetime as dt
from itertools import count
from typing import Literal

from shared.contracts.changes import (
    Change,
    ChangePage,
    Enrolment,
    EnrolmentRemoved,
    EnrolmentStatus,
    EnrolmentUpserted,
    MarkUpserted,
    MarkWithdrawn,
    SenProvision,
    Session,
    Stay,
)

_sequence = count(1)
RECORDED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def enrolment(
    upn: str,
    *,
    school_urn: str = "100001",
    date_of_birth: dt.date = dt.date(2012, 3, 1),
    nc_year: str = "7",
    gender: Literal["M", "F", "U"] = "F",
    sen_provision: str = "N",
    fsm_eligible: bool = False,
    ethnicity: str = "WBRI",
    entry_date: dt.date = dt.date(2023, 9, 1),
    leaving_date: dt.date | None = None,
    earlier_stays: tuple[tuple[dt.date, dt.date], ...] = (),
    status: str = "C",
) -> EnrolmentUpserted:
    return EnrolmentUpserted(
        sequence=next(_sequence),
        recorded_at=RECORDED,
        enrolment=Enrolment(
            school_urn=school_urn,
            upn=upn,
            legal_surname="Surname",
            legal_forename="Forename",
            date_of_birth=date_of_birth,
            gender=gender,
            nc_year=nc_year,
            sen_provision=SenProvision(sen_provision),
            fsm_eligible=fsm_eligible,
            ethnicity=ethnicity,
            enrolment_status=EnrolmentStatus(status),
            entry_date=entry_date,
            leaving_date=leaving_date,
            earlier_stays=[Stay(entry_date=lo, leaving_date=hi) for lo, hi in earlier_stays],
        ),
    )


def removed(upn: str, *, school_urn: str = "100001") -> EnrolmentRemoved:
    return EnrolmentRemoved(
        sequence=next(_sequence), recorded_at=RECORDED, school_urn=school_urn, upn=upn
    )


def mark(
    upn: str, day: dt.date, session: str, code: str, *, school_urn: str = "100001"
) -> MarkUpserted:
    return MarkUpserted(
        sequence=next(_sequence),
        recorded_at=RECORDED,
        school_urn=school_urn,
        upn=upn,
        date=day,
        session=Session(session),
        code=code,
        return_id="r1",
    )


def withdrawn(upn: str, day: dt.date, session: str, *, school_urn: str = "100001") -> MarkWithdrawn:
    return MarkWithdrawn(
        sequence=next(_sequence),
        recorded_at=RECORDED,
        school_urn=school_urn,
        upn=upn,
        date=day,
        session=Session(session),
        previous_code="/",
        return_id="r1",
    )


def school_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Weekdays from start to end inclusive."""
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def marks_for(
    upn: str, days: list[dt.date], codes: str | list[str], *, school_urn: str = "100001"
) -> list[Change]:
    """Both sessions of each day; `codes` cycles over the sessions in order."""
    seq = list(codes)
    out: list[Change] = []
    i = 0
    for day in days:
        for session in ("AM", "PM"):
            out.append(mark(upn, day, session, seq[i % len(seq)], school_urn=school_urn))
            i += 1
    return out


def page(changes: list[Change], cursor: str = "c1", *, has_more: bool = False) -> ChangePage:
    return ChangePage(changes=changes, next_cursor=cursor, has_more=has_more)
