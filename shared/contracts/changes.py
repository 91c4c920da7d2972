"""Ingest's change feed (`GET /v1/changes`), the only way other services see returns.

Changes come in a total order (`sequence`); the feed is replayable from the start, and
deletions are changes too: a withdrawn mark is `mark.withdrawn`, a pupil taken off a
school's roll is `enrolment.removed`. A consumer stores `next_cursor` in the same
transaction as the data it derived, so a restart neither loses nor repeats a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class Session(StrEnum):
    AM = "AM"
    PM = "PM"


class SenProvision(StrEnum):
    NONE = "N"
    SEN_SUPPORT = "K"
    EHC_PLAN = "E"


class EnrolmentStatus(StrEnum):
    SINGLE = "C"
    MAIN_DUAL = "M"
    SUBSIDIARY_DUAL = "S"
    GUEST = "G"


class Stay(BaseModel):
    """An earlier stay of a pupil on one school's roll: from entry to leaving, inclusive."""

    entry_date: date
    leaving_date: date


STAYS_JSON: TypeAdapter[list[Stay]] = TypeAdapter(list[Stay])
"""A list of stays as JSON: how ingest and metrics store `earlier_stays` in a column."""


def stays_from_json(stored: str) -> list[Stay]:
    """A stored `earlier_stays` column (`STAYS_JSON`) read back."""
    # Nearly every pupil has no earlier stay; a view reads tens of thousands of rows.
    return [] if stored == "[]" else STAYS_JSON.validate_json(stored)


class RollEntry(BaseModel):
    """A pupil on one school's roll for one stay, with the characteristics the census
    records (a return lists a pupil who left and came back once per stay)."""

    school_urn: str
    upn: str
    upn_temporary: bool = False
    legal_surname: str
    legal_forename: str
    date_of_birth: date
    gender: Literal["M", "F", "U"] = Field(description="M, F or U (unknown/other).")
    nc_year: str = Field(description="National curriculum year: N1, N2, R, 1..14, X.")
    sen_provision: SenProvision
    fsm_eligible: bool
    ethnicity: str = Field(description="DfE 4-letter ethnicity code, e.g. WBRI; REFU/NOBT.")
    enrolment_status: EnrolmentStatus
    entry_date: date
    leaving_date: date | None = None


class Enrolment(RollEntry):
    """A pupil on one school's roll, as stored and published: `entry_date` and
    `leaving_date` are the latest stay, and a pupil who left and came back has the stays
    before it in `earlier_stays`."""

    earlier_stays: list[Stay] = Field(
        default_factory=list,
        description="Earlier stays at this school, oldest first, each ended before the next "
        "began (a pupil who left and rejoined).",
    )

    @property
    def stays(self) -> list[tuple[date, date | None]]:
        """Every stay, oldest first: (entry date, leaving date or None while on roll)."""
        earlier: list[tuple[date, date | None]] = [
            (s.entry_date, s.leaving_date) for s in self.earlier_stays
        ]
        return [*earlier, (self.entry_date, self.leaving_date)]


def on_roll(stays: Sequence[tuple[date, date | None]], day: date) -> bool:
    """Whether `day` falls in one of the stays (entry and leaving days count)."""
    if len(stays) == 1:  # nearly every pupil; asked once per pupil-day of a return
        lo, hi = stays[0]
        return lo <= day and (hi is None or day <= hi)
    return any(lo <= day and (hi is None or day <= hi) for lo, hi in stays)


class EnrolmentUpserted(BaseModel):
    kind: Literal["enrolment.upserted"] = "enrolment.upserted"
    sequence: int
    recorded_at: datetime
    enrolment: Enrolment


class EnrolmentRemoved(BaseModel):
    """The school withdrew this roll entry (a correction, not a leaver: leavers are upserts)."""

    kind: Literal["enrolment.removed"] = "enrolment.removed"
    sequence: int
    recorded_at: datetime
    school_urn: str
    upn: str


class MarkUpserted(BaseModel):
    kind: Literal["mark.upserted"] = "mark.upserted"
    sequence: int
    recorded_at: datetime
    school_urn: str
    upn: str
    date: date
    session: Session
    code: str
    previous_code: str | None = None
    return_id: str


class MarkWithdrawn(BaseModel):
    kind: Literal["mark.withdrawn"] = "mark.withdrawn"
    sequence: int
    recorded_at: datetime
    school_urn: str
    upn: str
    date: date
    session: Session
    previous_code: str
    return_id: str


Change = Annotated[
    EnrolmentUpserted | EnrolmentRemoved | MarkUpserted | MarkWithdrawn,
    Field(discriminator="kind"),
]


class ChangePage(BaseModel):
    """One page of the change feed."""

    changes: list[Change]
    next_cursor: str = Field(description="Opaque; pass as `after` to read on.")
    has_more: bool
