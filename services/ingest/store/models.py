"""Ingest's tables, declared on its own registry so its metadata holds only them."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.db import new_registry

registry = new_registry()
metadata = registry.metadata
VERSION_TABLE = "alembic_version_ingest"


class IngestTable(SQLModel, registry=registry):
    """Base of every ingest table."""
