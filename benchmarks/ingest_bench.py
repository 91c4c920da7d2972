"""Ingest benchmark on PostgreSQL over real HTTP (not a test): prints figures, asserts nothing.

    .venv/bin/python benchmarks/ingest_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Runs the sharing and ingest services as separate uvicorn processes on loopback sockets,
on fresh PostgreSQL databases, and talks to them with a plain httpx client and real
OAuth tokens, as a school's MIS would. One run measures, side by side:

1. a daily return of a 1,500-pupil school (3,000 marks), JSON, median of 7 days;
2. full-year CTF backfills of 1,000-pupil schools (~390,000 marks each), each as a
   throughput ratio to a raw psycopg COPY of the same rows into a bare, unindexed table
   made straight after it on the same database; the median of the pairs;
3. peak RSS of a freshly started ingest process (sampled with psutil every 5 ms) while
   a 2,000-pupil full-year CTF is streamed to it from a file, and the same as JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from _services import (  # noqa: E402
    Directory,
    bootstrap_sharing,
    free_port,
    fresh_database,
    serve,
    service_env,
)
from sqlalchemy.engine import make_url  # noqa: E402
from stdnum.gb.upn import calc_check_digit  # noqa: E402

from services.ingest.domain.formats import CtfSchool, iter_ctf_return, json_return  # noqa: E402
from services.ingest.domain.model import Mark, Pupil  # noqa: E402
from shared.contracts.changes import EnrolmentStatus, SenProvision  # noqa: E402

HOLIDAYS = [
    (date(2024, 10, 28), date(2024, 11, 1)),
    (date(2024, 12, 23), date(2025, 1, 3)),
    (date(2025, 2, 17), date(2025, 2, 21)),
    (date(2025, 4, 7), date(2025, 4, 18)),
    (date(2025, 5, 26), date(2025, 5, 30)),
]
CODES = ["/"] * 90 + ["L", "I", "I", "M", "N", "U", "C2", "O", "B", "G"]


def school_days(start: date = date(2024, 9, 2), end: date = date(2025, 7, 18)) -> list[date]:
    """Monday to Friday of one academic year, less the holidays."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and not any(a <= day <= b for a, b in HOLIDAYS):
            days.append(day)
        day += timedelta(days=1)
    return days


def pupils(n: int, la: str, estab: str) -> list[Pupil]:
    """`n` pupils with valid, distinct UPNs."""
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
    """Both sessions of every day for every pupil, mostly present, some absences."""
    out = []
    for d_index, day in enumerate(days):
        for p_index, p in enumerate(roll):
            for s_index, session in enumerate(("AM", "PM")):
                code = CODES[(p_index * 7 + d_index * 3 + s_index) % len(CODES)]
                if code == "/" and session == "PM":
                    code = "\\"
                out.append(Mark(p.upn, day, session, code))
    return out


def new_school(directory: Directory, dfe_number: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A new school and the Authorization header of its MIS client."""
    serial = int(dfe_number) % 10000
    org = directory.organisation(
        {
            "type": "school",
            "name": f"Bench school {dfe_number}",
            "urn": f"{900000 + serial:06d}",
            "dfe_number": dfe_number,
            "phase": "primary",
        }
    )
    return org, directory.client_headers(org["id"], "school_system", ["returns:write"])


def post(
    http: httpx.Client, urn: str, headers: dict[str, str], body: Any, content_type: str
) -> float:
    """Submit one return; seconds until the receipt is in."""
    start = time.perf_counter()
    response = http.post(
        f"/v1/schools/{urn}/returns",
        content=body,
        headers={**headers, "Content-Type": content_type},
    )
    elapsed = time.perf_counter() - start
    assert response.status_code == 201, response.text[:2000]
    return elapsed


def raw_copy_seconds(ingest_url: str, rows: list[Mark]) -> float:
    """A psycopg COPY of `rows` into a bare, unindexed table, committed."""
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
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_raw")
        conn.commit()
        return elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (less sensitive to a busy machine)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class RssSampler:
    """The peak resident set size of one process, sampled every 5 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def file_chunks(path: str, size: int = 256 * 1024) -> Iterator[bytes]:
    """A file as a stream of chunks (sent chunked, never held whole by the client)."""
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--backfills", type=int, default=5, help="backfill / COPY pairs")
    args = parser.parse_args()
    sharing_db = fresh_database(args.pg, "attx_bench_sharing", "sharing")
    ingest_db = fresh_database(args.pg, "attx_bench_ingest", "ingest")
    bootstrap_sharing(sharing_db)
    # Metrics is not running: ingest's best-effort feed notification fails fast, after
    # the reply.
    ports = {"sharing": free_port(), "ingest": free_port()}
    sharing_env = service_env("sharing", ports, sharing_db)
    ingest_env = service_env("ingest", ports, ingest_db)
    sharing_port, ingest_port = ports["sharing"], ports["ingest"]
    issuer = f"http://127.0.0.1:{sharing_port}"
    days = school_days()
    ingest_base = f"http://127.0.0.1:{ingest_port}"
    with serve("sharing", sharing_port, sharing_env):
        directory = Directory(issuer)
        with (
            serve("ingest", ingest_port, ingest_env) as ingest_process,
            httpx.Client(base_url=ingest_base, timeout=600) as http,
        ):
            # 1. daily return of a 1,500-pupil school
            school, headers = new_school(directory, "2024001")
            roll = pupils(1500, "202", "4001")
            post(http, school["urn"], headers, json_return(roll, []), "application/json")
            timings, cpu = [], []
            for day in days[:7]:
                body = json_return([], marks(roll, [day]))
                before = cpu_seconds(ingest_process.pid)
                timings.append(post(http, school["urn"], headers, body, "application/json"))
                cpu.append(cpu_seconds(ingest_process.pid) - before)
            # 2. full-year CTF backfills of 1,000-pupil schools, each followed by a raw COPY
            # of its rows: pairs side by side, so a busy moment weighs on both
            backfills: list[tuple[float, float, float]] = []
            for n in range(args.backfills):
                estab = f"{5001 + n * 10}"
                school, headers = new_school(directory, f"202{estab}")
                roll = pupils(1000, "202", estab)
                year = marks(roll, days)
                ctf = CtfSchool("202", estab, "Bench backfill")
                body = b"".join(iter_ctf_return(ctf, roll, year))
                backfill_cpu = cpu_seconds(ingest_process.pid)
                ingest_s = post(http, school["urn"], headers, body, "application/xml")
                backfill_cpu = cpu_seconds(ingest_process.pid) - backfill_cpu
                backfills.append((ingest_s, raw_copy_seconds(ingest_db, year), backfill_cpu))
        # 3. peak RSS of a fresh ingest process, 2,000 pupils streamed from a file, as CTF
        # (the target) and as JSON, each to a school of its own
        big_roll = pupils(2000, "202", "6001")
        year_marks = marks(big_roll, days)
        bodies = {
            "CTF": (
                "2027001",
                "application/xml",
                lambda: iter_ctf_return(
                    CtfSchool("202", "7001", "Bench big"), big_roll, year_marks
                ),
            ),
            "JSON": ("2028001", "application/json", lambda: [json_return(big_roll, year_marks)]),
        }
        memory: dict[str, tuple[float, int, int, float]] = {}
        for label, (dfe_number, content_type, chunks) in bodies.items():
            school, headers = new_school(directory, dfe_number)
            with tempfile.NamedTemporaryFile(delete=False) as f:
                for chunk in chunks():
                    f.write(chunk)
            size = Path(f.name).stat().st_size
            with (
                serve("ingest", ingest_port, ingest_env) as process,
                httpx.Client(base_url=ingest_base, timeout=600) as http,
            ):
                idle = psutil.Process(process.pid).memory_info().rss
                with RssSampler(process.pid) as sampler:
                    rss_s = post(http, school["urn"], headers, file_chunks(f.name), content_type)
            Path(f.name).unlink()
            memory[label] = (size, sampler.peak, idle, rss_s)
    mb = 1024 * 1024
    print("ingest benchmark (PostgreSQL; sharing and ingest as uvicorn processes, real HTTP)")
    print(f"school days in the year: {len(days)}")
    print(
        f"daily return, 1,500 pupils, 3,000 marks (JSON): median {statistics.median(timings):.3f} s"
        f"  runs {' '.join(f'{t:.3f}' for t in timings)}  (target < 0.150 s)"
    )
    print(
        f"  CPU of the ingest process per daily return: median {statistics.median(cpu):.3f} s"
        f"  runs {' '.join(f'{t:.3f}' for t in cpu)}"
    )
    print(
        f"full-year CTF backfills, 1,000 pupils, {len(year):,} marks, {len(body) / 1e6:.1f} MB "
        "each, each followed by a raw COPY of the same rows into a bare table:"
    )
    for ingest_s, copy_s, cpu_s in backfills:
        print(
            f"  backfill {ingest_s:.2f} s = {len(year) / ingest_s:,.0f} marks/s (ingest process "
            f"CPU {cpu_s:.2f} s); raw COPY {copy_s:.2f} s = {len(year) / copy_s:,.0f} rows/s; "
            f"ratio {copy_s / ingest_s:.0%}"
        )
    ratio = statistics.median(copy_s / ingest_s for ingest_s, copy_s, _cpu in backfills)
    print(f"throughput ratio ingest / raw COPY, median of the pairs: {ratio:.0%} (target >= 25%)")
    for label, (size, peak, idle, rss_s) in memory.items():
        print(
            f"2,000-pupil full-year {label} ({size / 1e6:.1f} MB) streamed to a fresh ingest "
            f"process: peak RSS {peak / mb:.0f} MB (idle before the request {idle / mb:.0f} MB), "
            f"{rss_s:.2f} s (target < 300 MB, set for CTF)"
        )


if __name__ == "__main__":
    main()
