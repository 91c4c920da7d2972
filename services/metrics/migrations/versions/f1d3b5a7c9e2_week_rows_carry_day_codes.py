"""week rows carry day codes

Each week row gets its seven days' counts as base-3 codes (`measures.day_code`), so a
reader holding weeks in memory can take edge days from them. Existing rows are filled
from the day table.

Revision ID: f1d3b5a7c9e2
Revises: e5a0c3b9d214
Create Date: 2026-12-06 10:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = "f1d3b5a7c9e2"
down_revision = "e5a0c3b9d214"
branch_labels = None
depends_on = None

DAYS = ("day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun")
# COUNT_COLUMNS' order, as it was when this revision was written.
COUNTS = (
    "sess_possible",
    "sess_attended",
    "sess_authorised",
    "sess_unauthorised",
    "sess_auth_illness",
    "sess_auth_appointments",
    "sess_auth_religious",
    "sess_auth_study",
    "sess_auth_traveller",
    "sess_auth_holiday",
    "sess_auth_excluded",
    "sess_auth_other",
    "sess_auth_part_time",
    "sess_unauth_holiday",
    "sess_unauth_late",
    "sess_unauth_other",
    "sess_unauth_noyet",
)


def upgrade() -> None:
    with op.batch_alter_table("enrolment_week", schema=None) as batch_op:
        for day in DAYS:
            batch_op.add_column(sa.Column(day, sa.Integer(), server_default="0", nullable=False))
    weekday = (
        "(date - week_start)"
        if op.get_bind().dialect.name == "postgresql"
        else "CAST(julianday(date) - julianday(week_start) AS INTEGER)"
    )
    code = " + ".join(f"{3**i} * {column}" for i, column in enumerate(COUNTS))
    codes = ", ".join(
        f"coalesce(max(CASE WHEN {weekday} = {k} THEN {code} END), 0) AS {day}"
        for k, day in enumerate(DAYS)
    )
    keys = ("enrolment_id", "week_start", "stay_entry", "population")
    op.execute(
        f"UPDATE enrolment_week SET {', '.join(f'{d} = d.{d}' for d in DAYS)} "
        f"FROM (SELECT {', '.join(keys)}, {codes} FROM enrolment_day "
        f"GROUP BY {', '.join(keys)}) AS d "
        f"WHERE {' AND '.join(f'enrolment_week.{k} = d.{k}' for k in keys)}"
    )


def downgrade() -> None:
    with op.batch_alter_table("enrolment_week", schema=None) as batch_op:
        for day in DAYS:
            batch_op.drop_column(day)
