"""Alert-rule evaluation after a daily LA-wide set of returns (not a test): prints figures.

    .venv/bin/python benchmarks/alerts_bench.py [--pupils 30000] [--database-url URL]

Builds a migrated metrics database (a temporary SQLite file unless `--database-url`
names an empty PostgreSQL database) holding 30,000 pupils in 100 schools with the last
five school weeks of history in the read model, then applies two days' registers (two
sessions per pupil, 60,000 changes a day) through `apply_page` in consumer-sized pages of
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

from sqlalchemy import Engine, func, select, text  # noqa: E402
from stdnum.gb.upn import calc_check_digit  # noqa: E402

from services.metrics.alerts import AlertHook, AlertOptions, outbox_t  # noqa: E402
from services.metrics.domain.calendar import academic_year_of, week_start  # noqa: E402
from services.metrics.domain.measures import count_marks  # noqa: E402
from services.metrics.main import MIGRATIONS_DIR  # noqa: E402
from services.metrics.store.models import VERSION_TABLE  # noqa: E402
from services.metrics.store.projection import (  # noqa: E402
    HEADLINE,
    apply_page,
    day_t,
    enrolment_t,
    mark_t,
    week_t,
    year_t,
)
from shared.contracts.changes import ChangePage, MarkUpserted, Session  # noqa: E402
from shared.db import create_db_engine, upgrade_to_head  # noqa: E402
from shared.sql import chunks  # noqa: E402

SCHOOLS = 100
HISTORY_DAYS = 25
ENTRY = dt.date(2020, 9, 1)
"""Every pupil's one stay began then."""
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
                "entry_date": ENTRY,
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
                    "stay_entry": ENTRY,
                    "population": HEADLINE,
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
                [
                    {
                        "enrolment_id": e,
                        "week_start": w,
                        "stay_entry": ENTRY,
                        "population": HEADLINE,
                        **c.as_row(),
                    }
                    for (e, w), c in weeks.items()
                ],
            ),
            (
                year_t,
                [
                    {
                        "enrolment_id": e,
                        "academic_year": y,
                        "stay_entry": ENTRY,
                        "population": HEADLINE,
                        **c.as_row(),
                    }
                    for (e, y), c in years.items()
                ],
            ),
        ):
            for part in chunks(rows, 5000):
                connection.execute(table.insert(), list(part))
    return profiles  # type: ignore[return-value]


def apply_day(
    engine: Engine, day: dt.date, pupils: int, profiles: dict[int, str], rng: random.Random
) -> tuple[float, float, float, int]:
    """Apply one day's registers page by page, evaluating each page as the consumer does.

    Returns (applying s, evaluating s, evaluating CPU s, conditions queued).
    """
    now = dt.datetime.combine(day, dt.time(18), tzinfo=dt.UTC)
    changes = [
        MarkUpserted(
            sequence=i * 2 + k,
            recorded_at=now,
            school_urn=f"{100001 + n % SCHOOLS:06d}",
            upn=upn_of(n),
            date=day,
            session=Session(session),
            code=code_for(rng, profiles[n]),
            return_id=f"daily-{day.isoformat()}",
        )
        for i, n in enumerate(range(pupils))
        for k, session in enumerate(("AM", "PM"))
    ]
    hook = AlertHook(None, AlertOptions(), clock=lambda: now)
    evaluating = applying = evaluating_cpu = 0.0
    queued = 0
    for index, part in enumerate(chunks(changes, PAGE)):
        page = ChangePage(changes=list(part), next_cursor=f"c{index}", has_more=True)
        with engine.begin() as connection:
            t0 = time.perf_counter()
            apply_page(connection, page)
            t1, c1 = time.perf_counter(), time.process_time()
            queued += hook.evaluate(connection, page)
            t2, c2 = time.perf_counter(), time.process_time()
        applying += t1 - t0
        evaluating += t2 - t1
        evaluating_cpu += c2 - c1
    return applying, evaluating, evaluating_cpu, queued


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
        days = school_days(today, HISTORY_DAYS + 2)
        history, measured = days[:-2], days[-2:]
        started = time.perf_counter()
        profiles = seed(engine, args.pupils, history, rng)
        if engine.dialect.name == "postgresql":
            # A live database has statistics (autovacuum); a freshly loaded one has none.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        print(
            f"seeded {args.pupils:,} pupils x {len(history)} school days "
            f"in {time.perf_counter() - started:.1f} s ({engine.dialect.name})"
        )
        print(f"each day: {args.pupils * 2:,} marks of {args.pupils:,} pupils in pages of {PAGE:,}")
        # The first day finds every standing condition (the outbox starts empty); the
        # second is an ordinary day, most conditions already queued the day before.
        for label, day in zip(("first day (empty outbox)", "next day"), measured, strict=True):
            applying, evaluating, cpu, queued = apply_day(engine, day, args.pupils, profiles, rng)
            print(f"{label}, {day.isoformat()}:")
            print(f"  applying the pages (read model): {applying:.2f} s")
            print(
                f"  evaluating the alert rules:      {evaluating:.2f} s wall, {cpu:.2f} s CPU "
                f"of this process (SQLite runs in it), target < 5 s; {queued:,} conditions queued"
            )
        with engine.connect() as connection:
            found = connection.execute(
                select(outbox_t.c.rule, func.count()).group_by(outbox_t.c.rule)
            ).all()
        engine.dispose()
    print("conditions queued: " + ", ".join(f"{rule} {n}" for rule, n in sorted(found)))


if __name__ == "__main__":
    main()
