"""roll entries keep the earlier stays of a pupil who left and rejoined the school

Revision ID: 4e8b1f0c6a27
Revises: 7c41d2e9b0a3
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "4e8b1f0c6a27"
down_revision = "7c41d2e9b0a3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_enrolment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("earlier_stays", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_enrolment", schema=None) as batch_op:
        batch_op.drop_column("earlier_stays")
