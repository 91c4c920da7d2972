"""the register holds a row per pupil-day, its AM and PM marks side by side

Revision ID: c7e4a1d9f305
Revises: b5d2e8f1a9c4
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "c7e4a1d9f305"
down_revision = "b5d2e8f1a9c4"
branch_labels = None
depends_on = None

UNRESOLVED_N = "am_code = 'N' OR pm_code = 'N'"


def upgrade() -> None:
    op.create_table(
        "ingest_mark_day",
        sa.Column("school_urn", sa.String(length=6), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("am_code", sa.String(length=2), nullable=True),
        sa.Column("am_return_id", sa.String(length=36), nullable=True),
        sa.Column("pm_code", sa.String(length=2), nullable=True),
        sa.Column("pm_return_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("school_urn", "upn", "date", name=op.f("pk_ingest_mark_day")),
    )
    op.execute(
        "INSERT INTO ingest_mark_day (school_urn, upn, date, am_code, am_return_id, pm_code, "
        "pm_return_id) SELECT school_urn, upn, date, "
        "max(CASE WHEN session = 'AM' THEN code END), "
        "max(CASE WHEN session = 'AM' THEN return_id END), "
        "max(CASE WHEN session = 'PM' THEN code END), "
        "max(CASE WHEN session = 'PM' THEN return_id END) "
        "FROM ingest_mark GROUP BY school_urn, upn, date"
    )
    op.create_index(
        "ix_ingest_mark_day_unresolved_n",
        "ingest_mark_day",
        ["school_urn", "date"],
        postgresql_where=sa.text(UNRESOLVED_N),
        sqlite_where=sa.text(UNRESOLVED_N),
    )
    op.drop_table("ingest_mark")


def downgrade() -> None:
    op.create_table(
        "ingest_mark",
        sa.Column("school_urn", sa.String(length=6), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("return_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("school_urn", "upn", "date", "session", name=op.f("pk_ingest_mark")),
    )
    for session, column in (("AM", "am"), ("PM", "pm")):
        op.execute(
            "INSERT INTO ingest_mark (school_urn, upn, date, session, code, return_id) "
            f"SELECT school_urn, upn, date, '{session}', {column}_code, {column}_return_id "
            f"FROM ingest_mark_day WHERE {column}_code IS NOT NULL"
        )
    op.create_index(
        "ix_ingest_mark_unresolved_n",
        "ingest_mark",
        ["school_urn", "date"],
        postgresql_where=sa.text("code = 'N'"),
        sqlite_where=sa.text("code = 'N'"),
    )
    op.drop_table("ingest_mark_day")
