"""Metrics read-model benchmark on PostgreSQL, side by side with DuckDB over the raw marks.

    .venv/bin/python benchmarks/metrics_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--pupils 30000] [--runs 7]

What it does (prints figures, asserts nothing about speed):
1. A fresh PostgreSQL database migrated with metrics' Alembic history.
2. A synthetic local authority generated in DuckDB (vectorised SQL): `--pupils` pupils in
   100 schools, Years 1-10 (ages 5-14, so every session is a headline session and entry
   dates are 1 September), 190 school days of 2023/24, two sessions a day (~11.4M marks
   for 30,000 pupils), absence codes drawn per pupil from a skewed propensity.
3. Loaded straight into the read model with server-side COPY: `enrolment`, `mark` and the
   day / week / year buckets (computed in DuckDB by the same code table as the service),
   then VACUUM ANALYZE.
4. Timed, median of `--runs`: the full-year LA breakdown by nc_year x sen_provision x
   fsm_eligible, a 6-week window (Monday to Sunday, Monday to Friday, and Wednesday to
   Tuesday) and the spring term, through the service's
   repository with PostgreSQL alone (SQL) and with week rows held in memory as the
   service runs (`store/week_columns.py`), and through the whole table build (margins +
   suppression), against DuckDB computing the same from the raw marks held in memory.
   The results are compared cell by cell. Then the weekly series (`/v1/trends`) of a
   full year and a term, SQL against held weeks.
5. Timed: applying daily returns through `apply_page` (one school's day, and the whole
   LA's day in pages of 1,000 changes), each in its own transaction as the consumer does,
   and the next breakdown from held weeks after each (which reads the changes again).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from services.metrics.domain.calendar import Period
from services.metrics.domain.measures import (
    COUNT_COLUMNS,
    DAY_CODE_WEIGHTS,
    GroupMeasures,
    session_contribution,
)
from services.metrics.domain.reach import Slice
from services.metrics.main import MIGRATIONS_DIR
from services.metrics.reports import table
from services.metrics.settings import MetricsSettings
from services.metrics.store import week_columns
from services.metrics.store.models import DAY_COLUMNS, VERSION_TABLE
from services.metrics.store.projection import apply_page
from services.metrics.store.repository import MetricsRepository
from shared.contracts.changes import ChangePage, MarkUpserted, Session
from shared.db import upgrade_to_head

SCHOOLS = 100
YEAR_START = dt.date(2023, 9, 4)
CODES = ["/", "\\", "L", "I", "M", "O", "G", "N", "U", "B", "R", "E"]
GROUP_BY = ["nc_year", "sen_provision", "fsm_eligible"]
FULL_YEAR = Period(dt.date(2023, 9, 1), dt.date(2024, 8, 31))
SIX_WEEKS = Period(dt.date(2024, 1, 8), dt.date(2024, 2, 18))
SIX_SCHOOL_WEEKS = Period(dt.date(2024, 1, 8), dt.date(2024, 2, 16))
"""The same weeks, Monday to Friday: whole weeks less the last weekend."""
SIX_WEEKS_MIDWEEK = Period(dt.date(2024, 1, 10), dt.date(2024, 2, 20))
"""Six weeks from a Wednesday to a Tuesday: whole weeks and edge days."""
SPRING_TERM = Period(dt.date(2024, 1, 1), dt.date(2024, 3, 31))
"""DfE's spring term 2024 (1 January to Easter Sunday): weeks and edge days."""
ENTRY = dt.date(2023, 9, 1)
"""Every pupil's one stay began then."""


def school_days() -> list[dt.date]:
    """190 weekdays from 4 September 2023, skipping a two-week winter and a spring break."""
    days: list[dt.date] = []
    day = YEAR_START
    breaks = [
        (dt.date(2023, 12, 18), dt.date(2024, 1, 5)),
        (dt.date(2024, 3, 25), dt.date(2024, 4, 5)),
        (dt.date(2023, 10, 30), dt.date(2023, 11, 3)),
        (dt.date(2024, 2, 12), dt.date(2024, 2, 16)),
        (dt.date(2024, 5, 27), dt.date(2024, 5, 31)),
    ]
    while len(days) < 190:
        if day.weekday() < 5 and not any(a <= day <= b for a, b in breaks):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def generate(con: duckdb.DuckDBPyConnection, pupils: int, days: list[dt.date]) -> None:
    """Pupils and marks in DuckDB, plus the code table the service counts by."""
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""
        CREATE TABLE pupils AS
        SELECT i AS id,
               printf('%06d', 100001 + i % {SCHOOLS}) AS school_urn,
               printf('B%012d', i) AS upn,
               1 + (i // {SCHOOLS}) % 10 AS year,
               CASE WHEN i % 7 = 0 THEN 'K' WHEN i % 31 = 0 THEN 'E' ELSE 'N' END AS sen,
               (i % 4 = 0) AS fsm,
               -- skewed propensity: most pupils rarely absent, a tail often absent
               pow(random(), 3) * 0.35 AS rate
        FROM range({pupils}) t(i)
        """
    )
    con.execute("CREATE TABLE days (date DATE)")
    con.executemany("INSERT INTO days VALUES (?)", [[d] for d in days])
    absences = [c for c in CODES if c not in ("/", "\\", "L")]
    choices = "[" + ",".join(f"'{c}'" for c in absences) + "]"
    con.execute(
        f"""
        CREATE TABLE marks AS
        SELECT p.id AS pupil, p.school_urn, p.upn, d.date, s.session,
               CASE WHEN random() < p.rate
                    THEN {choices}[1 + floor(random() * {len(absences)})::INT]
                    WHEN s.session = 'AM' THEN '/' ELSE '\\' END AS code
        FROM pupils p, days d, (VALUES ('AM'), ('PM')) s(session)
        """
    )
    rows = []
    for code in CODES:
        found = session_contribution(code, YEAR_START)
        rows.append([code, *(found.get(c, 0) for c in COUNT_COLUMNS)])
    cols = ", ".join(f"{c} INTEGER" for c in COUNT_COLUMNS)
    con.execute(f"CREATE TABLE codes (code VARCHAR, {cols})")
    con.executemany(f"INSERT INTO codes VALUES ({', '.join('?' * (len(COUNT_COLUMNS) + 1))})", rows)


def export(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, tuple[Path, list[str]]]:
    """The read model's tables as CSV files PostgreSQL's server-side COPY can read."""
    sums = ", ".join(f"sum(c.{c}) AS {c}" for c in COUNT_COLUMNS)
    code = " + ".join(f"{w} * {c}" for w, c in zip(DAY_CODE_WEIGHTS, COUNT_COLUMNS, strict=True))
    day_codes = ", ".join(
        f"coalesce(max(CASE WHEN isodow(date) = {k + 1} THEN {code} END), 0) AS {day}"
        for k, day in enumerate(DAY_COLUMNS)
    )
    queries = {
        "enrolment": f"""
            SELECT id + 1 AS id, school_urn, upn, false AS upn_temporary, 'S' AS legal_surname,
                   'F' AS legal_forename, make_date(2023 - 5 - (year - 1) - 1, 3, 1)
                   AS date_of_birth, CASE WHEN id % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
                   year::VARCHAR AS nc_year, sen AS sen_provision, fsm AS fsm_eligible,
                   'WBRI' AS ethnicity, 'White' AS ethnicity_group, 'C' AS enrolment_status,
                   DATE '{ENTRY}' AS entry_date, NULL AS leaving_date
            FROM pupils""",
        # Ordered by day, as daily returns arrive, so the tables lie on disk as they would.
        "mark": "SELECT school_urn, upn, date, session, code FROM marks ORDER BY date",
        "enrolment_day": f"""
            SELECT m.pupil + 1 AS enrolment_id, m.date, DATE '{ENTRY}' AS stay_entry,
                   'headline' AS population, date_trunc('week', m.date)::DATE AS week_start,
                   2023 AS academic_year, {sums}
            FROM marks m JOIN codes c USING (code) GROUP BY m.pupil, m.date ORDER BY m.date""",
        # Each week with its days' codes (`measures.day_code`), as the projection writes it.
        "enrolment_week": f"""
            WITH d AS (
                SELECT m.pupil, m.date, {sums} FROM marks m JOIN codes c USING (code)
                GROUP BY m.pupil, m.date
            )
            SELECT pupil + 1 AS enrolment_id, date_trunc('week', date)::DATE AS week_start,
                   DATE '{ENTRY}' AS stay_entry, 'headline' AS population,
                   {", ".join(f"sum({c}) AS {c}" for c in COUNT_COLUMNS)}, {day_codes}
            FROM d GROUP BY 1, 2 ORDER BY 2""",
        "enrolment_year": f"""
            SELECT m.pupil + 1 AS enrolment_id, 2023 AS academic_year,
                   DATE '{ENTRY}' AS stay_entry, 'headline' AS population, {sums}
            FROM marks m JOIN codes c USING (code) GROUP BY 1""",
    }
    files = {}
    for name, query in queries.items():
        path = folder / f"{name}.csv"
        con.execute(f"COPY ({query}) TO '{path}' (HEADER false, DELIMITER ',')")
        path.chmod(0o644)
        columns = [d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description]
        files[name] = (path, columns)
    return files


def duck_breakdown(con: duckdb.DuckDBPyConnection, period: Period) -> dict[tuple[str, ...], Any]:
    """The same breakdown computed by DuckDB from the raw marks in memory."""
    sums = ", ".join(f"sum(c.{c}) AS {c}" for c in COUNT_COLUMNS)
    rows = con.execute(
        f"""
        WITH per AS (
            SELECT m.pupil, {sums} FROM marks m JOIN codes c USING (code)
            WHERE m.date BETWEEN ? AND ? GROUP BY m.pupil HAVING sum(c.sess_possible) > 0
        )
        SELECT p.year::VARCHAR, p.sen, CASE WHEN p.fsm THEN 'true' ELSE 'false' END,
               count(*), sum(sess_possible), sum(sess_authorised + sess_unauthorised),
               sum(CASE WHEN (sess_authorised + sess_unauthorised) * 100
                             >= sess_possible * 10 THEN 1 ELSE 0 END),
               sum(CASE WHEN (sess_authorised + sess_unauthorised) * 100
                             >= sess_possible * 50 THEN 1 ELSE 0 END)
        FROM per JOIN pupils p ON p.id = per.pupil GROUP BY 1, 2, 3
        """,
        [period.start, period.end],
    ).fetchall()
    return {tuple(r[:3]): tuple(int(x) for x in r[3:]) for r in rows}


def summary(m: GroupMeasures) -> tuple[int, ...]:
    return (m.enrolments, m.counts.possible, m.counts.overall, m.persistent, m.severe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pupils", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="Reuse the loaded PostgreSQL database; time the queries again (DuckDB data is "
        "regenerated, so the cell-by-cell comparison is skipped).",
    )
    args = parser.parse_args()

    admin = make_url(args.pg)
    url = admin.set(database="attx_bench_metrics").render_as_string(hide_password=False)
    if not args.queries_only:
        admin_engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "attx_bench_metrics" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "attx_bench_metrics"'))
        admin_engine.dispose()
        upgrade_to_head(url, MIGRATIONS_DIR, VERSION_TABLE)
    # Pooled, as a running service is: the timings are of the query, not of connecting.
    engine = create_engine(url)
    # A second engine on the same database holds week rows in memory, as the service
    # does by default (`METRICS_WEEK_COLUMNS_YEARS`); `engine` always asks PostgreSQL.
    held = create_engine(url)
    week_columns.enable(held, MetricsSettings().week_columns_years)

    days = school_days()
    duck = duckdb.connect()
    start = time.perf_counter()
    generate(duck, args.pupils, days)
    marks = duck.execute("SELECT count(*) FROM marks").fetchone()
    n_marks = int(marks[0]) if marks else 0
    print(
        f"generated {args.pupils:,} pupils, {n_marks:,} marks in DuckDB: "
        f"{time.perf_counter() - start:.1f} s"
    )

    if not args.queries_only:
        load(duck, engine, url)
    time_queries(engine, held, duck, args.runs, compare=not args.queries_only)
    if not args.queries_only:
        print()
        apply_daily_returns(engine, held, days)
    engine.dispose()
    held.dispose()


def load(duck: duckdb.DuckDBPyConnection, engine: Any, url: str) -> None:
    """COPY the read model into PostgreSQL, then VACUUM ANALYZE."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        start = time.perf_counter()
        files = export(duck, folder)
        print(f"exported the read model to CSV: {time.perf_counter() - start:.1f} s")
        with engine.begin() as conn:
            for name, (path, columns) in files.items():
                t0 = time.perf_counter()
                listed = ", ".join(columns)
                conn.execute(text(f"COPY {name} ({listed}) FROM '{path}' (FORMAT csv)"))
                count = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                print(f"  COPY {name:15s} {count:>12,} rows  {time.perf_counter() - t0:6.1f} s")
            conn.execute(text("SELECT setval('enrolment_id_seq', (SELECT max(id) FROM enrolment))"))
    with create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT").connect() as conn:
        t0 = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE"))
        print(f"VACUUM ANALYZE: {time.perf_counter() - t0:.1f} s")


def time_queries(
    engine: Any, held: Any, duck: duckdb.DuckDBPyConnection, runs: int, *, compare: bool
) -> None:
    """Median times of the two breakdowns: PostgreSQL's read model, the same with week rows
    held in memory, and DuckDB over the raw marks."""
    urns = tuple(f"{100001 + i:06d}" for i in range(SCHOOLS))
    print()
    print(
        f"{'query (median of ' + str(runs) + ')':36s} {'PostgreSQL':>11s} {'held weeks':>11s} "
        f"{'+ table':>9s} {'DuckDB raw':>11s} {'held/DuckDB':>12s}  same?"
    )
    for label, period in (
        ("full-year LA, year x SEN x FSM", FULL_YEAR),
        ("6-week window, year x SEN x FSM", SIX_WEEKS),
        ("the same, Monday to Friday", SIX_SCHOOL_WEEKS),
        ("6 weeks, Wednesday to Tuesday", SIX_WEEKS_MIDWEEK),
        ("spring term, year x SEN x FSM", SPRING_TERM),
    ):
        pieces = [Slice(urns, period)]

        def sql(pieces: list[Slice] = pieces, engine: Any = engine) -> list[Any]:
            with engine.connect() as conn:
                return MetricsRepository(conn).grouped_measures(pieces, GROUP_BY)

        def whole(pieces: list[Slice] = pieces) -> Any:
            with held.connect() as conn:
                found = MetricsRepository(conn).grouped_measures(pieces, GROUP_BY)
            return table(dict(found), GROUP_BY, suppressed=True, threshold=5)

        sql()  # warm the cache, as a running service would be
        start = time.perf_counter()
        sql(engine=held)  # the first question of a year loads its weeks
        loaded = time.perf_counter() - start if period == SIX_WEEKS else 0.0  # the first
        pg_time, pg_rows = median_time(sql, runs)
        held_time, held_rows = median_time(lambda: sql(engine=held), runs)
        table_time, _ = median_time(whole, runs)

        def in_duckdb(period: Period = period) -> dict[tuple[str, ...], Any]:
            return duck_breakdown(duck, period)

        duck_time, duck_rows = median_time(in_duckdb, runs)
        same = (
            {k: summary(m) for k, m in pg_rows} == duck_rows
            and {k: summary(m) for k, m in held_rows} == duck_rows
            if compare
            else dict(pg_rows) == dict(held_rows)
        )
        print(
            f"{label:36s} {pg_time * 1000:9.1f}ms {held_time * 1000:9.1f}ms "
            f"{table_time * 1000:7.1f}ms {duck_time * 1000:9.1f}ms "
            f"{held_time / duck_time:11.2f}x  {same}"
        )
        if loaded:
            print(f"{'':36s} first question, loading the year's weeks: {loaded * 1000:.0f} ms")
    print()
    heading = f"weekly series (median of {runs})"
    print(f"{heading:36s} {'PostgreSQL':>11s} {'held weeks':>11s}  same?")
    for label, period in (
        ("full year, year x SEN x FSM", FULL_YEAR),
        ("spring term, year x SEN x FSM", SPRING_TERM),
    ):
        pieces = [Slice(urns, period)]

        def series(pieces: list[Slice] = pieces, engine: Any = engine) -> list[Any]:
            with engine.connect() as conn:
                found = MetricsRepository(conn).weekly_measures(pieces, GROUP_BY)
            return sorted(found, key=lambda f: (f[0], f[1]))

        pg_time, pg_rows = median_time(series, runs)
        held_time, held_rows = median_time(lambda: series(engine=held), runs)
        print(
            f"{label:36s} {pg_time * 1000:9.1f}ms {held_time * 1000:9.1f}ms  {pg_rows == held_rows}"
        )


def apply_daily_returns(engine: Any, held: Any, days: list[dt.date]) -> None:
    """Time applying new days of marks as the consumer does, page by page, and the next
    6-week breakdown from held weeks (which reads the changed enrolments again)."""
    recorded = dt.datetime.now(dt.UTC)
    new_days = [
        days[-1] + dt.timedelta(days=i)
        for i in range(3, 10)
        if (days[-1] + dt.timedelta(days=i)).weekday() < 5
    ]
    sequence = iter(range(1, 10_000_000))

    def changes(urns: list[str], day: dt.date) -> list[Any]:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT school_urn, upn FROM enrolment WHERE school_urn = ANY(:u)"),
                {"u": urns},
            ).all()
        out = []
        for n, (urn, upn) in enumerate(rows):
            for session in (Session.AM, Session.PM):
                code = "I" if n % 17 == 0 else ("/" if session is Session.AM else "\\")
                out.append(
                    MarkUpserted(
                        sequence=next(sequence),
                        recorded_at=recorded,
                        school_urn=urn,
                        upn=upn,
                        date=day,
                        session=session,
                        code=code,
                        return_id="bench",
                    )
                )
        return out

    def apply(all_changes: list[Any], page_size: int) -> float:
        start = time.perf_counter()
        for i in range(0, len(all_changes), page_size):
            page = ChangePage(
                changes=all_changes[i : i + page_size], next_cursor=f"bench-{i}", has_more=False
            )
            with engine.begin() as conn:
                apply_page(conn, page)
        return time.perf_counter() - start

    urns = tuple(f"{100001 + i:06d}" for i in range(SCHOOLS))
    # Six whole weeks ending with the week of the last new day.
    last_sunday = new_days[-1] + dt.timedelta(days=6 - new_days[-1].weekday())
    window = [Slice(urns, Period(last_sunday - dt.timedelta(days=41), last_sunday))]

    def breakdown() -> float:
        start = time.perf_counter()
        with held.connect() as conn:
            MetricsRepository(conn).grouped_measures(window, GROUP_BY)
        return time.perf_counter() - start

    breakdown()  # held weeks loaded before the returns arrive
    one_school, after = [], []
    for d in new_days[:3]:
        one_school.append(apply(changes(["100001"], d), 1000))
        after.append(breakdown())
    n = len(changes(["100001"], new_days[0]))
    print(
        f"daily return, one school ({n} mark changes, one page): "
        f"median {statistics.median(one_school) * 1000:.0f} ms over {len(one_school)} days; "
        f"the next 6-week breakdown from held weeks {statistics.median(after) * 1000:.0f} ms"
    )
    everyone = [f"{100001 + i:06d}" for i in range(SCHOOLS)]
    la_day = changes(everyone, new_days[3])
    seconds = apply(la_day, 1000)
    print(
        f"daily returns, whole LA ({len(la_day):,} mark changes, pages of 1,000): "
        f"{seconds:.1f} s ({len(la_day) / seconds:,.0f} changes/s); the next 6-week "
        f"breakdown from held weeks {breakdown() * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
