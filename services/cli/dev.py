"""`attx dev`: the whole system on one machine, on the embedded default (SQLite files).

Migrates each service's database, seeds the administrator and the services' own OAuth
clients in the sharing service, starts the three services as separate uvicorn
processes, waits until each is ready, optionally loads the synthetic LA, and stops all
three cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx2 as httpx
import typer

from services.cli.registry import ALL_SERVICES, DEFAULT_PORTS, ServiceInfo, ServiceName
from services.sharing.bootstrap import bootstrap
from shared.db import create_db_engine, upgrade_to_head

SERVICE_CLIENT_ID = "attx-service"


def _child_env(
    info: ServiceInfo,
    *,
    data_dir: Path,
    host: str,
    ports: dict[ServiceName, int],
    service_secret: str,
) -> dict[str, str]:
    """Environment for one service process: its database file, the peers, its credentials."""
    prefix = info.env_prefix
    sharing = f"http://{host}:{ports[ServiceName.SHARING]}"
    env = dict(os.environ)
    env.update(
        {
            f"{prefix}ENVIRONMENT": "development",
            f"{prefix}DATABASE__URL": f"sqlite:///{data_dir / f'{info.name}.db'}",
            f"{prefix}OAUTH__ISSUER": sharing,
            f"{prefix}SHARING_URL": sharing,
            f"{prefix}INGEST_URL": f"http://{host}:{ports[ServiceName.INGEST]}",
            f"{prefix}METRICS_URL": f"http://{host}:{ports[ServiceName.METRICS]}",
            f"{prefix}SERVICE_CLIENT__CLIENT_ID": SERVICE_CLIENT_ID,
            f"{prefix}SERVICE_CLIENT__CLIENT_SECRET": service_secret,
        }
    )
    return env


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} during start-up")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f} s")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def run_system(
    *,
    data_dir: Path,
    host: str,
    ports: dict[ServiceName, int],
    admin_client_id: str,
    admin_client_secret: str,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Start all three services and block until interrupted; then stop them all."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for info in ALL_SERVICES:
        upgrade_to_head(
            f"sqlite:///{data_dir / f'{info.name}.db'}", info.migrations_dir, info.version_table
        )
    service_secret = secrets.token_urlsafe(32)
    bootstrap(
        create_db_engine(f"sqlite:///{data_dir / 'sharing.db'}"),
        admin_client_id=admin_client_id,
        admin_client_secret=admin_client_secret,
        service_client_id=SERVICE_CLIENT_ID,
        service_client_secret=service_secret,
    )
    processes: list[subprocess.Popen[bytes]] = []
    # SIGINT (Ctrl-C) and SIGTERM (a supervisor, a test) both stop the three services. Set
    # here rather than inherited: a shell starts background jobs with SIGINT ignored, and
    # then `attx dev` would ignore it and leave its services running.
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        # The sharing service issues tokens, so it comes up first.
        for info in sorted(ALL_SERVICES, key=lambda i: i.name != ServiceName.SHARING):
            port = ports[info.name]
            env = _child_env(
                info, data_dir=data_dir, host=host, ports=ports, service_secret=service_secret
            )
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "services.cli.main",
                    "serve",
                    info.name,
                    "--host",
                    host,
                    "--port",
                    str(port),
                ],
                env=env,
            )
            processes.append(process)
            _wait_ready(f"http://{host}:{port}", process)
            typer.echo(f"  {info.name:8} http://{host}:{port}  (docs: /docs)")
        if on_ready is not None:
            on_ready()
        typer.echo("All three services are up. Ctrl-C stops them.")
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        typer.echo("A service exited; stopping the others.", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("\nStopping…")
    finally:
        _stop(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)


def command(
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live.")] = Path(".data"),
    demo: Annotated[bool, typer.Option(help="Load the synthetic local authority.")] = False,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    ingest_port: Annotated[int, typer.Option()] = DEFAULT_PORTS[ServiceName.INGEST],
    metrics_port: Annotated[int, typer.Option()] = DEFAULT_PORTS[ServiceName.METRICS],
    sharing_port: Annotated[int, typer.Option()] = DEFAULT_PORTS[ServiceName.SHARING],
) -> None:
    """Run ingest, metrics and sharing on 127.0.0.1 with SQLite, seeded and ready to use."""
    admin_id = os.environ.get("ATTX_ADMIN_CLIENT_ID") or "attx-admin"
    admin_secret = os.environ.get("ATTX_ADMIN_CLIENT_SECRET") or secrets.token_urlsafe(24)
    ports = {
        ServiceName.INGEST: ingest_port,
        ServiceName.METRICS: metrics_port,
        ServiceName.SHARING: sharing_port,
    }
    sharing = f"http://{host}:{sharing_port}"

    def ready() -> None:
        if demo:
            from services.cli.demo import load_demo

            typer.echo("Loading the synthetic local authority…")
            load_demo(
                sharing_url=sharing,
                ingest_url=f"http://{host}:{ingest_port}",
                admin_client_id=admin_id,
                admin_secret=admin_secret,
                data_dir=data_dir / "demo",
            )
        typer.echo(
            "\nAdministrator client (keep the secret):\n"
            f"  ATTX_ADMIN_CLIENT_ID={admin_id}\n  ATTX_ADMIN_CLIENT_SECRET={admin_secret}\n\n"
            "Get a token:\n"
            f'  curl -s -u "{admin_id}:{admin_secret}" -d grant_type=client_credentials '
            f"{sharing}/oauth/token\n"
        )

    typer.echo(f"Starting Attendance Exchange (data in {data_dir})…")
    run_system(
        data_dir=data_dir,
        host=host,
        ports=ports,
        admin_client_id=admin_id,
        admin_client_secret=admin_secret,
        on_ready=ready,
    )
