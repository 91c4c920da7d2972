"""audit trail refuses TRUNCATE (PostgreSQL)

0002's row triggers refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: the
service's own database role (the tables' owner) could empty the trail in one statement,
leaving nothing for `attx audit verify` to check but a recorded head. A statement-level
trigger refuses it with the same error. SQLite has no TRUNCATE (its `DELETE` without
WHERE still fires 0002's triggers). Dropping a trigger remains possible for the owner:
the database's privileges, not a trigger, keep the owner's role away from people.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("audit_entry", "audit_entry_child")
PG_FUNCTION = "audit_refuse_change"  # 0002's: raises 'the audit trail is append-only'


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
