"""Metrics' tables, declared on its own registry so its metadata holds only them."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.db import new_registry

registry = new_registry()
metadata = registry.metadata
VERSION_TABLE = "alembic_version_metrics"


class MetricsTable(SQLModel, registry=registry):
    """Base of every metrics table."""
