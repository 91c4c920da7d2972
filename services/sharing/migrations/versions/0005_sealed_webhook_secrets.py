"""sealed webhook secrets: room for a Fernet token of the whsec_ secret

The signing keys' column is already text. Sealing itself happens when the service
starts (`store.sealing.reseal_secrets`): a migration holds no keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        for column, nullable in (("secret", False), ("previous_secret", True)):
            batch_op.alter_column(
                column,
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=100),
                type_=sqlmodel.sql.sqltypes.AutoString(length=400),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        for column, nullable in (("secret", False), ("previous_secret", True)):
            batch_op.alter_column(
                column,
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=400),
                type_=sa.String(length=100),
                existing_nullable=nullable,
            )
