"""`attx serve SERVICE`: run one service under uvicorn."""

from __future__ import annotations

import copy
import gc
import importlib
from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from services.cli.db import migrate_service
from services.cli.registry import DEFAULT_PORTS, ServiceName, service

# uvicorn's own logging, plus the services' loggers (the feed consumer, webhook deliveries,
# alerts) at INFO through the same handler: uvicorn configures only its own loggers, so
# without this a consumer that cannot read the feed says so to nobody.
LOG_CONFIG: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
LOG_CONFIG["loggers"].update(
    {
        package: {"handlers": ["default"], "level": "INFO", "propagate": False}
        for package in ("services", "shared")
    }
)


def command(
    name: Annotated[ServiceName, typer.Argument(help="ingest, metrics or sharing.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port; default 8001/8002/8003.")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply pending migrations before serving.")] = False,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* (behind a TLS proxy).")
    ] = False,
) -> None:
    """Run one service. Settings come from its environment variables (e.g. INGEST_DATABASE__URL)."""
    info = service(name)
    if migrate:
        migrate_service(name, info.settings_class()().database)
    # What is imported now (the service's modules, FastAPI, pydantic, SQLAlchemy) lives as
    # long as the process. Frozen, the cyclic collector stops walking it on every full
    # collection: a 2,000-child view spent 190 ms of its ~600 ms in three of them, 45 ms
    # once frozen (benchmarks/children_view_bench.py). Worker processes started by
    # --workers > 1 import afresh and run unfrozen.
    importlib.import_module(info.factory.partition(":")[0])
    gc.freeze()
    uvicorn.run(
        info.factory,
        factory=True,
        host=host,
        port=port or DEFAULT_PORTS[info.name],
        workers=workers,
        access_log=False,
        proxy_headers=proxy_headers,
        log_level="info",
        log_config=LOG_CONFIG,
    )
