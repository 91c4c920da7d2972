"""How long a submitted mark takes to show in metrics, across `attx dev`'s processes.

    .venv/bin/python benchmarks/feed_latency_bench.py [--returns 20]

What it does (prints figures, asserts nothing about speed):
1. Starts `attx dev` (three uvicorn processes on SQLite, in a temporary data folder, on
   free ports) and provisions a local authority, a school and their clients through
   sharing's API with real client-credentials tokens.
2. `--returns` times: the school submits a one-pupil return with a new mark (a different
   school day each time) to ingest over HTTP; the clock starts when ingest answers 201
   (committed) and stops when the LA's `GET /v1/absence` on metrics first counts it,
   polling every 10 ms. The path measured is the production one: ingest's commit, its
   notification to metrics, metrics' consumer reading `GET /v1/changes` with its own
   token, applying the page, and the LA's read.

The target in issue 4: a mark reaches metrics within 2 seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from stdnum.gb.upn import calc_check_digit

ADMIN = ("bench-admin", "bench-admin-secret")
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def token(sharing: str, client: tuple[str, str]) -> dict[str, str]:
    answer = httpx.post(
        f"{sharing}/oauth/token", data={"grant_type": "client_credentials"}, auth=client
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def provision(sharing: str) -> dict[str, tuple[str, str]]:
    admin = token(sharing, ADMIN)
    la = httpx.post(
        f"{sharing}/v1/organisations",
        json={"type": "local_authority", "name": "Camden", "la_code": "202"},
        headers=admin,
    ).json()
    school = httpx.post(
        f"{sharing}/v1/organisations",
        json={
            "type": "school",
            "name": "Primrose Hill Primary",
            "urn": "100001",
            "dfe_number": "2021000",
            "phase": "primary",
        },
        headers=admin,
    ).json()
    clients = {}
    for key, org, role, scopes in (
        ("school", school["id"], "school_system", ["returns:write"]),
        ("la", la["id"], "la_attendance", ["metrics:read"]),
    ):
        created = httpx.post(
            f"{sharing}/v1/clients",
            json={"organisation_id": org, "role": role, "scopes": scopes},
            headers=admin,
        ).json()
        clients[key] = (created["client_id"], created["client_secret"])
    return clients


def school_days(n: int) -> list[dt.date]:
    """The last `n` weekdays before this week, oldest first, all in this academic year."""
    day = dt.date.today() - dt.timedelta(days=dt.date.today().weekday() + 1)
    days: list[dt.date] = []
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return sorted(days)


def a_return(day: dt.date) -> dict[str, Any]:
    body = "202100020001"
    upn = calc_check_digit(body) + body
    return {
        "pupils": [
            {
                "upn": upn,
                "legal_surname": "Okafor",
                "legal_forename": "Ada",
                "date_of_birth": "2016-05-04",
                "gender": "F",
                "nc_year": "3",
                "sen_provision": "N",
                "fsm_eligible": False,
                "ethnicity": "BAFR",
                "enrolment_status": "C",
                "entry_date": "2023-09-04",
                "leaving_date": None,
            }
        ],
        "marks": [{"upn": upn, "date": day.isoformat(), "session": "AM", "code": "/"}],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--returns", type=int, default=20)
    args = parser.parse_args()
    ports = {name: free_port() for name in ("ingest", "metrics", "sharing")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, ATTX_ADMIN_CLIENT_ID=ADMIN[0], ATTX_ADMIN_CLIENT_SECRET=ADMIN[1])
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "dev",
                "--data-dir",
                data_dir,
                *(f"--{name}-port={port}" for name, port in ports.items()),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if all(httpx.get(f"{u}/readyz").status_code == 200 for u in urls.values()):
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("attx dev did not become ready")
                time.sleep(0.2)
            clients = provision(urls["sharing"])
            school, la = (
                token(urls["sharing"], clients["school"]),
                token(urls["sharing"], clients["la"]),
            )
            latencies = []
            days = school_days(args.returns)
            period = {"from": days[0].isoformat(), "to": days[-1].isoformat()}
            for n, day in enumerate(days, start=1):
                answer = httpx.post(
                    f"{urls['ingest']}/v1/schools/100001/returns",
                    json=a_return(day),
                    headers=school,
                )
                answer.raise_for_status()
                committed = time.perf_counter()
                while True:
                    rows = httpx.get(
                        f"{urls['metrics']}/v1/absence",
                        params={"scope": "school:100001", **period},
                        headers=la,
                    ).json()["rows"]
                    if rows and rows[0]["measures"]["sess_possible"] >= n:
                        break
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - committed)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"feed latency, ingest commit -> visible in metrics, {args.returns} returns:")
    print(
        f"  median {statistics.median(latencies) * 1000:,.0f} ms, "
        f"max {max(latencies) * 1000:,.0f} ms (target < 2,000 ms)"
    )


if __name__ == "__main__":
    main()
