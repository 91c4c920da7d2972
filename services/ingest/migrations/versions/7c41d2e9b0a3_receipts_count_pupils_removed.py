"""receipts count pupils removed from the roll (a removal is a receipt too)

Revision ID: 7c41d2e9b0a3
Revises: 2df979ecd7d1
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "7c41d2e9b0a3"
down_revision = "2df979ecd7d1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_return", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pupils_removed", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_return", schema=None) as batch_op:
        batch_op.drop_column("pupils_removed")
