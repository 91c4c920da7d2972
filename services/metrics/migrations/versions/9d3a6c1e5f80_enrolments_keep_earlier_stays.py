"""enrolments keep the earlier stays of a pupil who left and rejoined the school

Revision ID: 9d3a6c1e5f80
Revises: 5b0e7d2c9a41
Create Date: 2026-12-01 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "9d3a6c1e5f80"
down_revision = "5b0e7d2c9a41"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("earlier_stays", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("earlier_stays")
