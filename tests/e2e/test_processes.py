"""The three services as separate processes (`attx dev`), over real HTTP and sockets.

A token from the sharing service, fetched with authlib's httpx OAuth2 client, is
accepted by ingest and metrics; bad signatures, wrong audiences and missing scopes are
refused with the right status; Ctrl-C stops all three cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from stdnum.gb.upn import calc_check_digit

# One worker runs the module in order: the last test stops the processes.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ADMIN_ID = "e2e-admin"
ADMIN_SECRET = "e2e-admin-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    ingest: str
    metrics: str
    sharing: str
    data_dir: Path

    @contextmanager
    def oauth_client(
        self, client_id: str, secret: str, scope: str | None = None
    ) -> Iterator[OAuth2Client]:
        """authlib's httpx client holding a client-credentials token from the sharing service."""
        with OAuth2Client(
            client_id, secret, scope=scope, token_endpoint=f"{self.sharing}/oauth/token"
        ) as client:
            client.fetch_token()
            yield client


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    ports = {name: _free_port() for name in ("ingest", "metrics", "sharing")}
    env = dict(os.environ, ATTX_ADMIN_CLIENT_ID=ADMIN_ID, ATTX_ADMIN_CLIENT_SECRET=ADMIN_SECRET)
    data_dir = tmp_path_factory.mktemp("attx-dev")
    # A file, not a pipe: nobody reads a pipe while tests run, and a full one blocks the
    # services writing their logs to it.
    log = (data_dir / "attx-dev.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "dev",
            "--data-dir",
            str(data_dir),
            "--ingest-port",
            str(ports["ingest"]),
            "--metrics-port",
            str(ports["metrics"]),
            "--sharing-port",
            str(ports["sharing"]),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"attx dev exited early:\n{_tail(data_dir)}")
        try:
            if all(httpx.get(f"{u}/readyz").status_code == 200 for u in urls.values()):
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    else:
        _stop(process)
        pytest.fail("attx dev did not become ready")
    yield Running(process, urls["ingest"], urls["metrics"], urls["sharing"], data_dir)
    _stop(process)
    log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets attx dev stop its three services; killing it would orphan them.
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _tail(data_dir: Path) -> str:
    return (data_dir / "attx-dev.log").read_text(errors="replace")[-4000:]


def _upn(serial: int) -> str:
    body = f"20210002{serial:04d}"[:12]
    return calc_check_digit(body) + body


def _setup_school(running: Running) -> dict[str, Any]:
    """A local authority, a school in it, and the school's and LA's clients."""
    with running.oauth_client(ADMIN_ID, ADMIN_SECRET) as admin:
        la = admin.post(
            f"{running.sharing}/v1/organisations",
            json={
                "type": "local_authority",
                "name": "Camden",
                "la_code": "202",
            },
        )
        assert la.status_code == 201, la.text
        school = admin.post(
            f"{running.sharing}/v1/organisations",
            json={
                "type": "school",
                "name": "Primrose Hill Primary",
                "urn": "100001",
                "dfe_number": "2021000",
                "phase": "primary",
            },
        )
        assert school.status_code == 201, school.text
        clients = {}
        for key, org, role, scopes in (
            ("school", school.json()["id"], "school_system", ["returns:write", "returns:read"]),
            ("la", la.json()["id"], "la_attendance", ["metrics:read"]),
        ):
            created = admin.post(
                f"{running.sharing}/v1/clients",
                json={
                    "organisation_id": org,
                    "role": role,
                    "scopes": scopes,
                },
            )
            assert created.status_code == 201, created.text
            clients[key] = (created.json()["client_id"], created.json()["client_secret"])
    return clients


@pytest.fixture(scope="module")
def clients(running: Running) -> dict[str, Any]:
    return _setup_school(running)


def _a_return(weekday: int = 0, serial: int = 1) -> dict[str, Any]:
    """One pupil's roll entry and two marks on a day of last week (0 is Monday)."""
    monday = date.today() - timedelta(days=date.today().weekday() + 7)
    day = monday + timedelta(days=weekday)
    upn = _upn(serial)
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
        "marks": [
            {"upn": upn, "date": day.isoformat(), "session": "AM", "code": "/"},
            {"upn": upn, "date": day.isoformat(), "session": "PM", "code": "I"},
        ],
    }


def test_a_school_token_from_sharing_is_accepted_by_ingest(
    running: Running, clients: dict[str, Any]
) -> None:
    with running.oauth_client(*clients["school"]) as school:
        response = school.post(f"{running.ingest}/v1/schools/100001/returns", json=_a_return())
    assert response.status_code in (200, 201), response.text


def _academic_year(day: date) -> str:
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def test_a_local_authority_token_from_sharing_is_accepted_by_metrics(
    running: Running, clients: dict[str, Any]
) -> None:
    with running.oauth_client(*clients["la"]) as la:
        response = la.get(
            f"{running.metrics}/v1/absence",
            params={
                "scope": "school:100001",
                "academic_year": _academic_year(date.today()),
            },
        )
    assert response.status_code == 200, response.text


def test_the_submitted_marks_reach_the_metrics_service(
    running: Running, clients: dict[str, Any]
) -> None:
    # Through ingest's notification and metrics' own feed consumer, across processes.
    # The deadline is generous on purpose: this proves the path, not its speed (which
    # benchmarks/feed_latency_bench.py measures); a loaded CI machine is slow.
    # Its own pupil and day, so it holds whichever tests ran before it in this process.
    submitted = _a_return(weekday=1, serial=2)
    day = submitted["marks"][0]["date"]
    with running.oauth_client(*clients["school"]) as school:
        accepted = school.post(f"{running.ingest}/v1/schools/100001/returns", json=submitted)
    assert accepted.status_code == 201, accepted.text
    body: dict[str, Any] = {}
    with running.oauth_client(*clients["la"]) as la:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = la.get(
                f"{running.metrics}/v1/absence",
                params={"scope": "school:100001", "from": day, "to": day},
            ).json()
            if body.get("rows") and body["rows"][0]["measures"]["sess_possible"] == 2:
                break
            time.sleep(0.5)
    measures = body["rows"][0]["measures"] if body.get("rows") else {}
    assert measures.get("sess_possible") == 2, f"{body}\n{_tail(running.data_dir)}"
    assert measures["sess_authorised"] == 1


def test_a_token_with_a_tampered_signature_is_refused_by_both(
    running: Running, clients: dict[str, Any]
) -> None:
    with running.oauth_client(*clients["school"]) as school:
        token = school.token["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    for url in (f"{running.ingest}/v1/schools/100001/returns", f"{running.metrics}/v1/absence"):
        response = httpx.get(url, headers={"Authorization": f"Bearer {tampered}"})
        assert response.status_code == 401, url
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_for_another_audience_is_refused(running: Running) -> None:
    with running.oauth_client(ADMIN_ID, ADMIN_SECRET, scope="directory:read") as admin:
        token = admin.token["access_token"]
    response = httpx.get(
        f"{running.ingest}/v1/schools/100001/returns", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


def test_a_token_without_the_scope_is_forbidden(running: Running, clients: dict[str, Any]) -> None:
    with running.oauth_client(*clients["school"], scope="returns:read") as school:
        response = school.post(f"{running.ingest}/v1/schools/100001/returns", json=_a_return())
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_ctrl_c_stops_all_three_services(running: Running) -> None:
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=30) == 0
    for url in (running.ingest, running.metrics, running.sharing):
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/healthz", timeout=2)
