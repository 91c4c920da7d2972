"""bucket rows per stay and population: each stay of a pupil who came back is its own
enrolment, and four-year-olds are counted apart

The day, week and year buckets gain `stay_entry` and `population` (both in the week and
year keys). Stored buckets cannot be split by stay without the marks (nor hold the
four-year-olds' sessions, which were skipped), and the read model is derived from
ingest's feed, so this empties it and resets the cursor: the consumer replays the feed
from the start (as `attx metrics rebuild` does). The alert outbox is kept, so no
condition already alerted is alerted again.

Revision ID: c7e2a94d1b36
Revises: 9d3a6c1e5f80
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "c7e2a94d1b36"
down_revision = "9d3a6c1e5f80"
branch_labels = None
depends_on = None

COUNTS = (
    "sess_possible",
    "sess_attended",
    "sess_authorised",
    "sess_unauthorised",
    "sess_auth_illness",
    "sess_auth_appointments",
    "sess_auth_religious",
    "sess_auth_study",
    "sess_auth_traveller",
    "sess_auth_holiday",
    "sess_auth_excluded",
    "sess_auth_other",
    "sess_auth_part_time",
    "sess_unauth_holiday",
    "sess_unauth_late",
    "sess_unauth_other",
    "sess_unauth_noyet",
)
ABSENT_DAY = sa.text("sess_authorised + sess_unauthorised > 0")


def _create_buckets(*, per_stay_and_population: bool) -> None:
    def table(name: str, key: Sequence[sa.Column[Any]], other: Sequence[sa.Column[Any]]) -> None:
        stay = (
            [
                sa.Column("stay_entry", sa.Date(), nullable=False),
                sa.Column("population", sa.String(length=14), nullable=False),
            ]
            if per_stay_and_population
            else []
        )
        key_names = [c.name for c in key]
        if per_stay_and_population and name != "enrolment_day":
            key_names += ["stay_entry", "population"]
        op.create_table(
            name,
            *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
            *key,
            *stay,
            *other,
            sa.PrimaryKeyConstraint(*key_names, name=f"pk_{name}"),
        )

    table(
        "enrolment_day",
        [sa.Column("enrolment_id", sa.Integer(), nullable=False), sa.Column("date", sa.Date(), nullable=False)],
        [
            sa.Column("week_start", sa.Date(), nullable=False),
            sa.Column("academic_year", sa.Integer(), nullable=False),
        ],
    )
    op.create_index("ix_enrolment_day_date", "enrolment_day", ["date"])
    op.create_index(
        "ix_enrolment_day_absent",
        "enrolment_day",
        ["enrolment_id", "date"],
        postgresql_where=ABSENT_DAY,
        postgresql_include=["sess_unauth_noyet", *(["population"] if per_stay_and_population else [])],
        sqlite_where=ABSENT_DAY,
    )
    table(
        "enrolment_week",
        [
            sa.Column("enrolment_id", sa.Integer(), nullable=False),
            sa.Column("week_start", sa.Date(), nullable=False),
        ],
        [],
    )
    op.create_index("ix_enrolment_week_week_start", "enrolment_week", ["week_start"])
    table(
        "enrolment_year",
        [
            sa.Column("enrolment_id", sa.Integer(), nullable=False),
            sa.Column("academic_year", sa.Integer(), nullable=False),
        ],
        [],
    )


def _replace_buckets(*, per_stay_and_population: bool) -> None:
    for name in ("enrolment_day", "enrolment_week", "enrolment_year"):
        op.drop_table(name)
    for name in ("mark", "enrolment", "feed_cursor"):
        op.execute(sa.text(f"DELETE FROM {name}"))
    _create_buckets(per_stay_and_population=per_stay_and_population)


def upgrade() -> None:
    _replace_buckets(per_stay_and_population=True)


def downgrade() -> None:
    _replace_buckets(per_stay_and_population=False)
