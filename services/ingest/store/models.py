"""Ingest's tables, declared on its own registry so its metadata holds only them.

- `ingest_return`: one row per accepted return — its receipt.
- `ingest_enrolment`: the stored roll, one row per (school, pupil).
- `ingest_mark_day`: the current register, one row per (school, pupil, date) holding
  the AM and PM marks; the primary key is the "no duplicate marks" guarantee. A day,
  not a session, per row: half the rows and index entries for a backfill to write.
- `ingest_change`: every change ever made, in commit order (`sequence`). It is both the
  change feed and the amendment history: old code, new code, when, by which return. A
  pupil's new marks from one return may be one row, a run (`store/mark_runs.py`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shared.db import new_registry

registry = new_registry()
metadata = registry.metadata
VERSION_TABLE = "alembic_version_ingest"
UNRESOLVED_N = "am_code = 'N' OR pm_code = 'N'"
"""The days `ix_ingest_mark_day_unresolved_n` holds."""

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class IngestTable(SQLModel, registry=registry):
    """Base of every ingest table."""


class ReturnRecord(IngestTable, table=True):
    """An accepted return and its receipt."""

    __tablename__ = "ingest_return"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key"),)

    seq: int | None = Field(
        default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True)
    )
    id: str = Field(max_length=36, unique=True)
    school_urn: str = Field(max_length=6, index=True)
    format: str = Field(max_length=8)
    submitted_at: dt.datetime
    client_id: str = Field(max_length=200)
    organisation_id: str | None = Field(default=None, max_length=200)
    checksum_sha256: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    replace_from: dt.date | None = None
    replace_to: dt.date | None = None
    pupils_inserted: int = 0
    pupils_changed: int = 0
    pupils_unchanged: int = 0
    pupils_removed: int = 0
    marks_inserted: int = 0
    marks_changed: int = 0
    marks_unchanged: int = 0
    marks_withdrawn: int = 0
    warnings: str = Field(default="[]", description="JSON list of data-quality warnings.")


class EnrolmentRecord(IngestTable, table=True):
    """A pupil on a school's stored roll."""

    __tablename__ = "ingest_enrolment"

    school_urn: str = Field(primary_key=True, max_length=6)
    upn: str = Field(primary_key=True, max_length=13)
    upn_temporary: bool = False
    legal_surname: str = Field(max_length=100)
    legal_forename: str = Field(max_length=100)
    # Pupil matching (sharing recording a child without a UPN) narrows the rolls by date
    # of birth before comparing names; without the index it scans every roll entry.
    date_of_birth: dt.date = Field(index=True)
    gender: str = Field(max_length=1)
    nc_year: str = Field(max_length=2)
    sen_provision: str = Field(max_length=1)
    fsm_eligible: bool
    ethnicity: str = Field(max_length=4)
    enrolment_status: str = Field(max_length=1)
    entry_date: dt.date
    leaving_date: dt.date | None = None
    earlier_stays: str = Field(
        default="[]",
        sa_column=Column(Text, nullable=False, server_default="[]"),
        description="Stays before the latest, oldest first (JSON, `STAYS_JSON`).",
    )
    return_id: str = Field(max_length=36)


class MarkDayRecord(IngestTable, table=True):
    """The current marks of one pupil-day at one school: the AM and PM sessions.

    A session without a mark is null (its return id too); a row keeps at least one.
    """

    __tablename__ = "ingest_mark_day"
    # The receipt's unresolved-N warning reads a school's N marks by date on every
    # return; only days with an N (about 1 in 50) are indexed, so writes barely pay.
    __table_args__ = (
        Index(
            "ix_ingest_mark_day_unresolved_n",
            "school_urn",
            "date",
            postgresql_where=text(UNRESOLVED_N),
            sqlite_where=text(UNRESOLVED_N),
        ),
    )

    school_urn: str = Field(primary_key=True, max_length=6)
    upn: str = Field(primary_key=True, max_length=13)
    date: dt.date = Field(primary_key=True)
    am_code: str | None = Field(default=None, max_length=2)
    am_return_id: str | None = Field(default=None, max_length=36)
    pm_code: str | None = Field(default=None, max_length=2)
    pm_return_id: str | None = Field(default=None, max_length=36)


class ChangeRecord(IngestTable, table=True):
    """One change, in commit order: the feed and the history."""

    __tablename__ = "ingest_change"
    __table_args__ = (Index("ix_ingest_change_school_pupil", "school_urn", "upn", "date"),)

    sequence: int | None = Field(
        default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True)
    )
    kind: str = Field(max_length=24)
    recorded_at: dt.datetime
    school_urn: str = Field(max_length=6)
    upn: str = Field(max_length=13)
    date: dt.date | None = None
    session: str | None = Field(default=None, max_length=2)
    code: str | None = Field(default=None, max_length=2)
    previous_code: str | None = Field(default=None, max_length=2)
    return_id: str | None = Field(default=None, max_length=36)
    enrolment: str | None = Field(default=None, description="Enrolment JSON, for enrolment.*")
    marks: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="A run of new marks (`mark_runs`); the row then numbers one change per "
        "mark, ending at `sequence`.",
    )
