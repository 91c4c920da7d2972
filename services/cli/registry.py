"""The three services as the CLI knows them: app factory, settings, migrations."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.db import migrate
from shared.settings import DatabaseSettings


class ServiceName(StrEnum):
    INGEST = "ingest"
    METRICS = "metrics"
    SHARING = "sharing"


DEFAULT_PORTS = {ServiceName.INGEST: 8001, ServiceName.METRICS: 8002, ServiceName.SHARING: 8003}


@dataclass(frozen=True)
class ServiceInfo:
    """How to build, configure and migrate one service."""

    name: ServiceName

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    @property
    def factory(self) -> str:
        return f"services.{self.name}.main:create_app"

    def _main(self) -> ModuleType:
        return importlib.import_module(f"services.{self.name}.main")

    @property
    def migrations_dir(self) -> Path:
        path: Path = self._main().MIGRATIONS_DIR
        return path

    @property
    def version_table(self) -> str:
        models = importlib.import_module(f"services.{self.name}.store.models")
        table: str = models.VERSION_TABLE
        return table

    def migrate(self, database: DatabaseSettings) -> None:
        """Apply pending migrations as the tables' owner and grant the runtime role its
        privileges (`shared.db.migrate`)."""
        models = importlib.import_module(f"services.{self.name}.store.models")
        migrate(database, self.migrations_dir, self.version_table, models.metadata)

    def settings_class(self) -> Any:
        module = importlib.import_module(f"services.{self.name}.settings")
        return getattr(module, f"{self.name.capitalize()}Settings")

    def create_app(self, settings: Any) -> Any:
        return self._main().create_app(settings)


def service(name: ServiceName | str) -> ServiceInfo:
    return ServiceInfo(ServiceName(name))


ALL_SERVICES = [service(n) for n in ServiceName]
