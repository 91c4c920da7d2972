"""Metrics' read model, declared on its own registry so its metadata holds only its tables.

The read model is derived entirely from ingest's change feed (`feed_cursor` records how
far), so it can be dropped and rebuilt at any time:
- `enrolment`: one pupil on one school's roll, with census characteristics.
- `mark`: the raw register, one row per session (pupil views need it).
- `enrolment_day`, `enrolment_week`, `enrolment_year`: session counts per enrolment
  per day / Monday-start week / academic year, of the sessions that enter DfE's
  headline measures only (age 5-15, age-15 summer second half removed, late summer
  starters excluded). Weeks and years are sums of days; queries add up the largest
  buckets that fit the period asked for, then judge PA per enrolment, then group.
  Each bucket row belongs to one stay (`stay_entry`): DfE counts each stay of a pupil
  who left the school and came back as its own enrolment. Four-year-olds' sessions are
  kept too, as their own `population` (DfE reports them apart); every headline reader
  asks for `population = 'headline'`.
  Days and weeks are also indexed by date, so a window reads only its own rows. A week
  row also carries each of its days' counts as one code (`day_mon` .. `day_sun`).
- `read_model_change`: what each page changed, in commit order, for readers that hold
  weeks in memory.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.db import new_registry

registry = new_registry()
metadata = registry.metadata
VERSION_TABLE = "alembic_version_metrics"


class MetricsTable(SQLModel, registry=registry):
    """Base of every metrics table."""


class FeedCursor(MetricsTable, table=True):
    """How far a feed has been applied; written in the same transaction as the data."""

    __tablename__ = "feed_cursor"

    feed: str = Field(primary_key=True, max_length=40)
    cursor: str = Field(max_length=200)
    updated_at: dt.datetime


class Enrolment(MetricsTable, table=True):
    """A pupil on one school's roll (one row per school and UPN, whatever its stays)."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("school_urn", "upn"),)

    id: int | None = Field(default=None, primary_key=True)
    school_urn: str = Field(max_length=6, index=True)
    upn: str = Field(max_length=13, index=True)
    upn_temporary: bool = False
    legal_surname: str = Field(max_length=100)
    legal_forename: str = Field(max_length=100)
    date_of_birth: dt.date
    gender: str = Field(max_length=1)
    nc_year: str = Field(max_length=3)
    sen_provision: str = Field(max_length=1)
    fsm_eligible: bool
    ethnicity: str = Field(max_length=4)
    ethnicity_group: str = Field(max_length=30)
    enrolment_status: str = Field(max_length=1)
    entry_date: dt.date
    leaving_date: dt.date | None = None
    earlier_stays: str = Field(
        default="[]",
        sa_column=Column(Text, nullable=False, server_default="[]"),
        description="Stays before the latest (a pupil who left and came back), oldest "
        "first (JSON, `STAYS_JSON`).",
    )


class Mark(MetricsTable, table=True):
    """One register mark, keyed as ingest keys it (school, pupil, day, session)."""

    __tablename__ = "mark"

    school_urn: str = Field(primary_key=True, max_length=6)
    upn: str = Field(primary_key=True, max_length=13)
    date: dt.date = Field(primary_key=True)
    session: str = Field(primary_key=True, max_length=2)
    code: str = Field(max_length=2)


class SessionCountColumns(SQLModel):
    """The additive counts every bucket table carries, by DfE variable name."""

    sess_possible: int = 0
    sess_attended: int = 0
    sess_authorised: int = 0
    sess_unauthorised: int = 0
    sess_auth_illness: int = 0
    sess_auth_appointments: int = 0
    sess_auth_religious: int = 0
    sess_auth_study: int = 0
    sess_auth_traveller: int = 0
    sess_auth_holiday: int = 0
    sess_auth_excluded: int = 0
    sess_auth_other: int = 0
    sess_auth_part_time: int = 0
    sess_unauth_holiday: int = 0
    sess_unauth_late: int = 0
    sess_unauth_other: int = 0
    sess_unauth_noyet: int = 0


STAY_ENTRY = (
    "The entry date of the stay the sessions belong to (a week or year of a pupil who left "
    "and came back may hold a row for each stay)."
)

POPULATION = "Which DfE figures the sessions enter: `headline` or `four_year_olds`."

ABSENT_DAY = text("sess_authorised + sess_unauthorised > 0")
"""A day with an absence: the early-warning pattern rules read only these."""


class EnrolmentDay(SessionCountColumns, MetricsTable, table=True):
    """Headline session counts of one enrolment on one day."""

    __tablename__ = "enrolment_day"
    __table_args__ = (
        Index(
            "ix_enrolment_day_absent",
            "enrolment_id",
            "date",
            postgresql_where=ABSENT_DAY,
            postgresql_include=["sess_unauth_noyet", "population"],
            sqlite_where=ABSENT_DAY,
        ),
    )

    enrolment_id: int = Field(primary_key=True)
    date: dt.date = Field(primary_key=True, index=True)
    stay_entry: dt.date = Field(description=STAY_ENTRY)
    population: str = Field(max_length=14, description=POPULATION)
    week_start: dt.date
    academic_year: int


DAY_CODE = (
    "That weekday's counts as one integer, each count a base-3 digit (`day_code`); 0 when "
    "the week has no row that day."
)


class EnrolmentWeek(SessionCountColumns, MetricsTable, table=True):
    """Headline session counts of one enrolment in one Monday-to-Sunday week, and each of
    its days' counts (so a reader holding weeks in memory has the days too)."""

    __tablename__ = "enrolment_week"

    enrolment_id: int = Field(primary_key=True)
    week_start: dt.date = Field(primary_key=True, index=True)
    stay_entry: dt.date = Field(primary_key=True, description=STAY_ENTRY)
    population: str = Field(primary_key=True, max_length=14, description=POPULATION)
    day_mon: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_tue: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_wed: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_thu: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_fri: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_sat: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)
    day_sun: int = Field(default=0, sa_column_kwargs={"server_default": "0"}, description=DAY_CODE)


DAY_COLUMNS = ("day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun")
"""`EnrolmentWeek`'s day codes, Monday first."""


class EnrolmentYear(SessionCountColumns, MetricsTable, table=True):
    """Headline session counts of one enrolment in one academic year."""

    __tablename__ = "enrolment_year"

    enrolment_id: int = Field(primary_key=True)
    academic_year: int = Field(primary_key=True)
    stay_entry: dt.date = Field(primary_key=True, description=STAY_ENTRY)
    population: str = Field(primary_key=True, max_length=14, description=POPULATION)


BUCKET_TABLES = (EnrolmentDay, EnrolmentWeek, EnrolmentYear)


class ReadModelChange(MetricsTable, table=True):
    """What a page changed, numbered in commit order: an enrolment's buckets of one week,
    or (no week) its characteristics or all its buckets, or (no enrolment) everything
    (the read model was emptied for a rebuild).

    Readers that keep part of the read model in memory (`store.week_columns`) read again
    what changed after the last number they saw.
    """

    __tablename__ = "read_model_change"
    __table_args__ = {"sqlite_autoincrement": True}  # numbers are never reused

    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    enrolment_id: int | None = None
    week_start: dt.date | None = None


# The alert outbox lives in its own module; importing it here registers it whenever the
# models are loaded (Alembic autogenerate, test fixtures, the app).
from services.metrics.store import alert_models as _alert_models  # noqa: E402, F401
