"""Alert-rule evaluation after a daily LA-wide set of returns (not a test): prints figures.

    .venv/bin/python benchmarks/alerts_bench.py [--pupils 30000] [--database-url URL]

Builds a migrated metrics database (a temporary SQLite file unless `--database-url`
names an empty PostgreSQL database) holding 30,000 pupils in 100 schools with the last
five school weeks of history in the read model, then applies today's register (two
sessions per pupil, 60,000 changes) through `apply_page` in consumer-sized pages of
1,000 changes, calling the alert hook in each page's transaction as the consumer does.
It prints the time spent in rule evaluation (the hook: reading buckets and marks,
running the rules, queueing the outbox) separately from the page application itself.
The target is evaluation under 5 seconds for the whole day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select  # noqa: E402
from stdnum.gb.upn import calc_check_digit  # noqa: E402

from services.metrics.alerts import AlertHook, AlertOptions, outbox_t  # noqa: E402
from services.metrics.domain.calendar import academic_year_of, week_start  # noqa: E402
from services.metrics.domain.measures import count_marks  # noqa: E402
from services.metrics.main import MIGRATIONS_DIR  # noqa: E402
from services.metrics.store.models import VERSION_TABLE  # noqa: E402
from services.metrics.store.projection import (  # noqa: E402
    apply_page,
    chunks,
    day_t,
    enrolment_t,
    mark_t,
    week_t,
    year_t,
)
from shared.contracts.changes import ChangePage, MarkUpserted, Session  # noqa: E402
from shared.db import create_db_engine, upgrade_to_head  # noqa: E402

SCHOOLS = 100
HISTORY_DAYS = 25
PAGE = 1000


def upn_of(n: int) -> str:
    body = f"202{n // 1000 % 10000:04d}24{n % 1000:03d}"
    return calc_check_digit(body) + body


def school_days(end: dt.date, n: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = end
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


def code_for(rng: random.Random, profile: str) -> str:
    if profile == "absent":
        return rng.choice("NNNOI")
    return rng.choices(["/", "I", "N", "O", "M", "E"], [93, 3, 1.5, 1, 1, 0.5])[0]


def seed(engine: Engine, pupils: int, days: list[dt.date], rng: random.Random) -> dict[int, str]:
    """Enrolments, marks and buckets of the history, bulk-inserted as the projection would."""
    profiles = {n: "absent" if rng.random() < 0.03 else "usual" for n in range(pupils)}
    enrolments, marks, day_rows = [], [], []
    weeks: dict[tuple[int, dt.date], Any] = {}
    years: dict[tuple[int, int], Any] = {}
    for n in range(pupils):
        urn = f"{100001 + n % SCHOOLS:06d}"
        enrolments.append(
            {
                "id": n + 1,
                "school_urn": urn,
                "upn": upn_of(n),
                "upn_temporary": False,
                "legal_surname": f"S{n}",
                "legal_forename": f"F{n}",
                "date_of_birth": dt.date(2013, 1, 1) + dt.timedelta(days=n % 2500),
                "gender": "F",
                "nc_year": "5",
                "sen_provision": "N",
                "fsm_eligible": False,
                "ethnicity": "WBRI",
                "ethnicity_group": "White",
                "enrolment_status": "C",
                "entry_date": dt.date(2020, 9, 1),
                "leaving_date": None,
            }
        )
        for day in days:
            codes = [code_for(rng, profiles[n]) for _ in ("AM", "PM")]
            for session, code in zip(("AM", "PM"), codes, strict=True):
                marks.append(
                    {
                        "school_urn": urn,
                        "upn": upn_of(n),
                        "date": day,
                        "session": session,
                        "code": code,
                    }
                )
            counts = count_marks([(day, c) for c in codes])
            day_rows.append(
                {
                    "enrolment_id": n + 1,
                    "date": day,
                    "week_start": week_start(day),
                    "academic_year": academic_year_of(day),
                    **counts.as_row(),
                }
            )
            w, y = (n + 1, week_start(day)), (n + 1, academic_year_of(day))
            weeks[w] = weeks[w] + counts if w in weeks else counts
            years[y] = years[y] + counts if y in years else counts
    with engine.begin() as connection:
        for table, rows in (
            (enrolment_t, enrolments),
            (mark_t, marks),
            (day_t, day_rows),
            (
                week_t,
                [{"enrolment_id": e, "week_start": w, **c.as_row()} for (e, w), c in weeks.items()],
            ),
            (
                year_t,
                [
                    {"enrolment_id": e, "academic_year": y, **c.as_row()}
                    for (e, y), c in years.items()
                ],
            ),
        ):
            for part in chunks(rows, 5000):
                connection.execute(table.insert(), list(part))
    return profiles  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=30_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    rng = random.Random(20241104)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/metrics-bench.db"
        upgrade_to_head(url, MIGRATIONS_DIR, VERSION_TABLE)
        engine = create_db_engine(url)
        today = dt.date.today()
        while today.weekday() >= 5:
            today -= dt.timedelta(days=1)
        history = school_days(today - dt.timedelta(days=1), HISTORY_DAYS)
        started = time.perf_counter()
        profiles = seed(engine, args.pupils, history, rng)
        print(
            f"seeded {args.pupils:,} pupils x {len(history)} school days "
            f"in {time.perf_counter() - started:.1f} s ({engine.dialect.name})"
        )

        now = dt.datetime.combine(today, dt.time(18), tzinfo=dt.UTC)
        changes = [
            MarkUpserted(
                sequence=i * 2 + k,
                recorded_at=now,
                school_urn=f"{100001 + n % SCHOOLS:06d}",
                upn=upn_of(n),
                date=today,
                session=Session(session),
                code=code_for(rng, profiles[n]),
                return_id="daily",
            )
            for i, n in enumerate(range(args.pupils))
            for k, session in enumerate(("AM", "PM"))
        ]
        hook = AlertHook(None, AlertOptions(), clock=lambda: now)
        evaluating = applying = evaluating_cpu = 0.0
        for index, part in enumerate(chunks(changes, PAGE)):
            page = ChangePage(changes=list(part), next_cursor=f"c{index}", has_more=True)
            with engine.begin() as connection:
                t0 = time.perf_counter()
                apply_page(connection, page)
                t1, c1 = time.perf_counter(), time.process_time()
                hook.evaluate(connection, page)
                t2, c2 = time.perf_counter(), time.process_time()
            applying += t1 - t0
            evaluating += t2 - t1
            evaluating_cpu += c2 - c1
        with engine.connect() as connection:
            found = connection.execute(
                select(outbox_t.c.rule, func.count()).group_by(outbox_t.c.rule)
            ).all()
        engine.dispose()
    print(f"daily returns: {len(changes):,} marks of {args.pupils:,} pupils in pages of {PAGE:,}")
    print(f"applying the pages (read model): {applying:.2f} s")
    print(
        f"evaluating the alert rules:      {evaluating:.2f} s wall, {evaluating_cpu:.2f} s CPU "
        "of this process (SQLite runs in it), target < 5 s"
    )
    print("conditions queued: " + ", ".join(f"{rule} {n}" for rule, n in sorted(found)))


if __name__ == "__main__":
    main()
