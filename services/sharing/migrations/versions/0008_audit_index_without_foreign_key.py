"""audit children index without a foreign key to its entry

Each child a read names is a row of `audit_entry_child`: a social care's read of its
2,000 children is 2,000 rows, and PostgreSQL checked each against `audit_entry` under a
row lock, a third of the rows' insert time (benchmarks/README.md, stop 25). The index
rows are written only with their entry, in its transaction, and the hash chain already
guards them: `attx audit verify` checks each entry's rows against its hashed children,
and now reports rows that name no entry (`AuditRepository.first_index_position_beyond`).
SQLite drops a constraint by rebuilding the table, which drops its append-only
triggers: they are made again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "audit_entry_child"
FOREIGN_KEY = "fk_audit_entry_child_position_audit_entry"


def _remake_sqlite_triggers() -> None:
    """0002's triggers on the rebuilt table (SQLite only)."""
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{operation.lower()} BEFORE {operation} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: "
            f"{operation} on {TABLE} refused'); END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, TABLE, type_="foreignkey")
        return
    with op.batch_alter_table(TABLE, recreate="always") as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
    _remake_sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(FOREIGN_KEY, TABLE, "audit_entry", ["position"], ["position"])
        return
    with op.batch_alter_table(TABLE, recreate="always") as batch_op:
        batch_op.create_foreign_key(FOREIGN_KEY, "audit_entry", ["position"], ["position"])
    _remake_sqlite_triggers()
