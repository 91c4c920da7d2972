"""index days with absence (early-warning pattern rules read only those)

Revision ID: 5b0e7d2c9a41
Revises: 2328ca04023d
Create Date: 2026-12-01 15:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "5b0e7d2c9a41"
down_revision = "2328ca04023d"
branch_labels = None
depends_on = None

ABSENT_DAY = sa.text("sess_authorised + sess_unauthorised > 0")


def upgrade() -> None:
    op.create_index(
        "ix_enrolment_day_absent",
        "enrolment_day",
        ["enrolment_id", "date"],
        postgresql_where=ABSENT_DAY,
        postgresql_include=["sess_unauth_noyet"],
        sqlite_where=ABSENT_DAY,
    )


def downgrade() -> None:
    op.drop_index("ix_enrolment_day_absent", table_name="enrolment_day")
