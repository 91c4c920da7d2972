"""a pupil's new marks from one return are published as one change row, a run

Revision ID: b5d2e8f1a9c4
Revises: 4e8b1f0c6a27
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from services.ingest.store import mark_runs

revision = "b5d2e8f1a9c4"
down_revision = "4e8b1f0c6a27"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marks", sa.Text(), nullable=True))


def downgrade() -> None:
    # Each run becomes the one row per mark it numbers, on its reserved numbers, so the
    # feed and its readers' cursors are unchanged.
    connection = op.get_bind()
    runs = connection.execute(
        sa.text(
            "SELECT sequence, kind, recorded_at, school_urn, upn, return_id, marks "
            "FROM ingest_change WHERE marks IS NOT NULL"
        )
    ).all()
    for sequence, kind, recorded_at, urn, upn, return_id, text in runs:
        marks = mark_runs.unpack(text)
        first = sequence - len(marks) + 1
        connection.execute(sa.text("DELETE FROM ingest_change WHERE sequence = :s"), {"s": sequence})
        connection.execute(
            sa.text(
                "INSERT INTO ingest_change (sequence, kind, recorded_at, school_urn, upn, date, "
                "session, code, return_id) VALUES (:sequence, :kind, :at, :urn, :upn, :date, "
                ":session, :code, :rid)"
            ),
            [
                {
                    "sequence": first + offset,
                    "kind": kind,
                    "at": recorded_at,
                    "urn": urn,
                    "upn": upn,
                    "date": day,
                    "session": session,
                    "code": code,
                    "rid": return_id,
                }
                for offset, (day, session, code) in enumerate(marks)
            ],
        )
    with op.batch_alter_table("ingest_change", schema=None) as batch_op:
        batch_op.drop_column("marks")
