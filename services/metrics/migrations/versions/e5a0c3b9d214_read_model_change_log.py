"""read model change log

Revision ID: e5a0c3b9d214
Revises: c7e2a94d1b36
Create Date: 2026-12-06 09:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = "e5a0c3b9d214"
down_revision = "c7e2a94d1b36"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_model_change",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("week_start", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_read_model_change")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("read_model_change")
