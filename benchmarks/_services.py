"""Running services for the benchmarks that talk HTTP: fresh databases, `attx serve`
processes on free loopback ports, and the sharing service's directory API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
ADMIN_ID, ADMIN_SECRET = "bench-admin", "bench-admin-secret"
SERVICE_ID, SERVICE_SECRET = "bench-service", "bench-service-secret"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _in_checkout(root: Path, code: str) -> None:
    """Run Python `code` with the code of the checkout at `root` (another one's, to
    compare two versions side by side)."""
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
    )


def fresh_database(admin_url: str, name: str, service: str, root: Path = ROOT) -> str:
    """Drop, create and migrate one service's database with the Alembic history of the
    checkout at `root`; its URL."""
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(False)
    _in_checkout(
        root,
        "from shared.db import upgrade_to_head\n"
        f"from services.{service}.main import MIGRATIONS_DIR\n"
        f"from services.{service}.store.models import VERSION_TABLE\n"
        f"upgrade_to_head({url!r}, MIGRATIONS_DIR, VERSION_TABLE)",
    )
    return url


def bootstrap_sharing(url: str, root: Path = ROOT) -> None:
    """The admin and service clients the benchmarks authenticate with, written by the
    sharing service of the checkout at `root`."""
    _in_checkout(
        root,
        "from services.sharing.bootstrap import bootstrap\n"
        "from shared.db import create_db_engine\n"
        f"engine = create_db_engine({url!r})\n"
        f"bootstrap(engine, admin_client_id={ADMIN_ID!r}, admin_client_secret={ADMIN_SECRET!r},"
        f" service_client_id={SERVICE_ID!r}, service_client_secret={SERVICE_SECRET!r})\n"
        "engine.dispose()",
    )


def service_env(service: str, ports: dict[str, int], database_url: str) -> dict[str, str]:
    """The environment of one service among the others on these loopback ports (a service
    with no port listed is reached at a port where nothing listens)."""
    issuer = f"http://127.0.0.1:{ports['sharing']}"
    common = {
        "ENVIRONMENT": "test",
        "OAUTH__ISSUER": issuer,
        "DATABASE__URL": database_url,
        "SERVICE_CLIENT__CLIENT_ID": SERVICE_ID,
        "SERVICE_CLIENT__CLIENT_SECRET": SERVICE_SECRET,
        **{
            f"{peer.upper()}_URL": f"http://127.0.0.1:{ports.get(peer) or free_port()}"
            for peer in ("sharing", "ingest", "metrics")
        },
    }
    return {f"{service.upper()}_{k}": v for k, v in common.items()}


@contextmanager
def serve(
    service: str, port: int, env: dict[str, str], root: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """One service in its own process as deployed (`attx serve`: imports frozen out of
    the cyclic collector's way), until the block ends; its code from the checkout at
    `root` (another one's, to compare two versions side by side)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "serve",
            service,
            "--port",
            str(port),
        ],
        cwd=root,
        env={**os.environ, **env, "PYTHONPATH": str(root)},
        stderr=subprocess.DEVNULL,  # INFO logs of every request's peers; not the figures
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{service} did not start")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(10)


class Directory:
    """The sharing service's HTTP API, as its administrator: organisations, clients and
    their tokens."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.admin = {"Authorization": f"Bearer {self.token(ADMIN_ID, ADMIN_SECRET)}"}

    def token(self, client_id: str, secret: str) -> str:
        """A client-credentials access token."""
        response = self.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def organisation(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new organisation."""
        response = self.http.post("/v1/organisations", json=body, headers=self.admin)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    def client_headers(self, organisation_id: str, role: str, scopes: list[str]) -> dict[str, str]:
        """The Authorization header of a new client of the organisation."""
        response = self.http.post(
            "/v1/clients",
            json={"organisation_id": organisation_id, "role": role, "scopes": scopes},
            headers=self.admin,
        )
        response.raise_for_status()
        secret = response.json()
        return {
            "Authorization": f"Bearer {self.token(secret['client_id'], secret['client_secret'])}"
        }
