"""Ingest benchmark on PostgreSQL (not a test): prints figures, asserts nothing.

    .venv/bin/python benchmarks/ingest_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Runs the real sharing and ingest apps in-process behind Starlette TestClients (ASGI
without sockets, so the HTTP figures exclude TCP but include routing, auth with a real
token, the directory call, parsing, validation and the database work), on fresh
PostgreSQL databases, and measures in one run:

1. a daily return of a 1,500-pupil school (3,000 marks), JSON, median of 7 days;
2. a full-year CTF backfill of a 1,000-pupil school (~380,000 marks), as a throughput
   ratio to a raw psycopg COPY of the same rows into a bare, unindexed table;
3. peak RSS of a fresh process ingesting a 2,000-pupil full-year CTF (subprocess).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from stdnum.gb.upn import calc_check_digit  # noqa: E402

from services.ingest.domain.formats import CtfSchool, iter_ctf_return, json_return  # noqa: E402
from services.ingest.domain.model import Mark, Pupil  # noqa: E402
from shared.contracts.changes import EnrolmentStatus, SenProvision  # noqa: E402
from shared.db import create_db_engine, upgrade_to_head  # noqa: E402

HOLIDAYS = [
    (date(2024, 10, 28), date(2024, 11, 1)),
    (date(2024, 12, 23), date(2025, 1, 3)),
    (date(2025, 2, 17), date(2025, 2, 21)),
    (date(2025, 4, 7), date(2025, 4, 18)),
    (date(2025, 5, 26), date(2025, 5, 30)),
]
CODES = ["/"] * 90 + ["L", "I", "I", "M", "N", "U", "C2", "O", "B", "G"]


def school_days(start: date = date(2024, 9, 2), end: date = date(2025, 7, 18)) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and not any(a <= day <= b for a, b in HOLIDAYS):
            days.append(day)
        day += timedelta(days=1)
    return days


def pupils(n: int, la: str, estab: str) -> list[Pupil]:
    out = []
    for i in range(n):
        body = f"{la}{int(estab) + i // 1000:04d}24{i % 1000:03d}"
        out.append(
            Pupil(
                upn=calc_check_digit(body) + body,
                legal_surname=f"S{i}",
                legal_forename=f"F{i}",
                date_of_birth=date(2013, 1, 1),
                gender="MF"[i % 2],
                nc_year=str(1 + i % 11),
                sen_provision=SenProvision.NONE,
                fsm_eligible=i % 4 == 0,
                ethnicity="WBRI",
                enrolment_status=EnrolmentStatus.SINGLE,
                entry_date=date(2020, 9, 1),
            )
        )
    return out


def marks(roll: list[Pupil], days: list[date]) -> list[Mark]:
    out = []
    for d_index, day in enumerate(days):
        for p_index, p in enumerate(roll):
            for s_index, session in enumerate(("AM", "PM")):
                code = CODES[(p_index * 7 + d_index * 3 + s_index) % len(CODES)]
                if code == "/" and session == "PM":
                    code = "\\"
                out.append(Mark(p.upn, day, session, code))
    return out


class Harness:
    """Sharing + ingest in-process on fresh PostgreSQL databases, one school, its token."""

    def __init__(
        self, admin_url: str, stack: ExitStack, tag: str, dfe_number: str | None = None
    ) -> None:
        from services.sharing.bootstrap import bootstrap
        from tests.support.system import (
            ADMIN_CLIENT_ID,
            ADMIN_CLIENT_SECRET,
            INGEST_URL,
            SERVICE_CLIENT_ID,
            SERVICE_CLIENT_SECRET,
            SHARING_URL,
            System,
            _settings,
        )
        from tests.support.transport import AppTransport

        urls = {}
        admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        for service in ("sharing", "ingest"):
            name = f"attx_bench_{tag}_{service}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            urls[service] = make_url(admin_url).set(database=name).render_as_string(False)
            main = __import__(f"services.{service}.main", fromlist=["MIGRATIONS_DIR"])
            models = __import__(f"services.{service}.store.models", fromlist=["VERSION_TABLE"])
            upgrade_to_head(urls[service], main.MIGRATIONS_DIR, models.VERSION_TABLE)
        admin.dispose()
        engine = create_db_engine(urls["sharing"])
        seeded = bootstrap(
            engine,
            admin_client_id=ADMIN_CLIENT_ID,
            admin_client_secret=ADMIN_CLIENT_SECRET,
            service_client_id=SERVICE_CLIENT_ID,
            service_client_secret=SERVICE_CLIENT_SECRET,
        )
        engine.dispose()
        transport = AppTransport()
        clients = {}
        for service, url in (("sharing", SHARING_URL), ("ingest", INGEST_URL)):
            main = __import__(f"services.{service}.main", fromlist=["create_app"])
            app = main.create_app(_settings(service, urls[service], {}), transport=transport)
            clients[service] = stack.enter_context(TestClient(app, base_url=url))
            transport.mount(url, clients[service])
        self.system = System(clients, transport, seeded, {})
        self.ingest_url = urls["ingest"]
        extra = {"dfe_number": dfe_number} if dfe_number else {}
        self.school = self.system.create_organisation("school", la_code="202", **extra)
        self.headers = self.system.headers_for(
            self.school["id"], "school_system", ["returns:write"]
        )

    def post(self, body: bytes, content_type: str) -> float:
        start = time.perf_counter()
        response = self.system.ingest.post(
            f"/v1/schools/{self.school['urn']}/returns",
            content=body,
            headers={**self.headers, "Content-Type": content_type},
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 201, response.text[:2000]
        return elapsed

    def ctf_school(self) -> CtfSchool:
        dfe = self.school["dfe_number"]
        return CtfSchool(dfe[:3], dfe[3:], "Bench")


def raw_copy_seconds(ingest_url: str, rows: list[Mark]) -> float:
    dsn = make_url(ingest_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute("CREATE TABLE bench_raw (upn text, date date, session text, code text)")
        conn.commit()
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_raw (upn, date, session, code) FROM STDIN") as copy,
        ):
            for m in rows:
                copy.write_row((m.upn, m.date, m.session, m.code))
        conn.commit()
        return time.perf_counter() - start


def rss_child(admin_url: str, path: str, dfe_number: str) -> None:
    with ExitStack() as stack:
        harness = Harness(admin_url, stack, "rss", dfe_number)
        body = Path(path).read_bytes()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        seconds = harness.post(body, "application/xml")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{before:.0f} {peak:.0f} {seconds:.2f} {len(body)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rss-child")
    parser.add_argument("--dfe-number")
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.pg, args.rss_child, args.dfe_number)
        return
    days = school_days()
    with ExitStack() as stack:
        # 1. daily return of a 1,500-pupil school
        daily = Harness(args.pg, stack, "daily")
        roll = pupils(1500, "202", "4001")
        daily.post(json_return(roll, []), "application/json")
        timings = [
            daily.post(json_return([], marks(roll, [day])), "application/json") for day in days[:7]
        ]
        # 2. full-year CTF backfill of a 1,000-pupil school
        backfill = Harness(args.pg, stack, "backfill")
        roll = pupils(1000, "202", "5001")
        year = marks(roll, days)
        body = b"".join(iter_ctf_return(backfill.ctf_school(), roll, year))
        ingest_s = backfill.post(body, "application/xml")
        copy_s = raw_copy_seconds(backfill.ingest_url, year)
    # 3. peak RSS, 2,000 pupils, in a fresh process
    ctf_school = CtfSchool("202", "7001", "Bench big")
    big_roll = pupils(2000, "202", "6001")
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        for chunk in iter_ctf_return(ctf_school, big_roll, marks(big_roll, days)):
            f.write(chunk)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--pg",
            args.pg,
            "--rss-child",
            f.name,
            "--dfe-number",
            ctf_school.lea + ctf_school.estab,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode:
        print(child.stderr[-3000:])
    before, peak, rss_seconds, size = child.stdout.split()
    Path(f.name).unlink()
    print("ingest benchmark (PostgreSQL, in-process TestClient over ASGI, real tokens)")
    print(f"school days in the year: {len(days)}")
    print(
        f"daily return, 1,500 pupils, 3,000 marks (JSON): median {statistics.median(timings):.3f} s"
        f"  runs {' '.join(f'{t:.3f}' for t in timings)}"
    )
    print(
        f"full-year CTF backfill, 1,000 pupils, {len(year):,} marks, {len(body) / 1e6:.1f} MB: "
        f"{ingest_s:.2f} s = {len(year) / ingest_s:,.0f} marks/s"
    )
    print(
        f"raw COPY of the same rows into a bare table: {copy_s:.2f} s = "
        f"{len(year) / copy_s:,.0f} rows/s"
    )
    print(f"throughput ratio ingest / raw COPY: {copy_s / ingest_s:.0%} (target >= 25%)")
    print(
        f"2,000-pupil full-year CTF ({int(size) / 1e6:.1f} MB) in a fresh process: "
        f"peak RSS {peak} MB (before the request {before} MB), {rss_seconds} s "
        "(target < 300 MB)"
    )


if __name__ == "__main__":
    main()
