"""The audit trail's tables, on sharing's registry (imported by `store.models`).

`audit_entry` is the chain: one row per pupil-level read, append-only (the migration adds
triggers refusing UPDATE and DELETE), each row hashed over its content and the previous
row's hash (`domain.audit`). `audit_entry_child` indexes each entry's children by school
and UPN so "who looked at our pupils" is a query; its rows are covered by the entry hash
too (the entry's `children` column is the canonical list; verify checks the index
matches it, and that no index row names a missing entry). Both are marked
`APPEND_ONLY`: the service's own database role, when it is not the owner, may only read
and insert them (`shared.db.grant_runtime_privileges`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field

from services.sharing.store.models import SharingTable, UtcDateTime
from shared.db import APPEND_ONLY


class AuditEntry(SharingTable, table=True):
    """One pupil-level read, at its place in the hash chain."""

    __tablename__ = "audit_entry"
    __table_args__ = ({"info": {APPEND_ONLY: True}},)

    position: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False),
        description="1, 2, 3, ...: assigned under the chain lock, never reused.",
    )
    id: str = Field(max_length=36, unique=True)
    recorded_at: datetime = Field(sa_type=UtcDateTime, index=True)
    occurred_at: datetime = Field(sa_type=UtcDateTime, index=True)
    service: str = Field(max_length=32)
    endpoint: str = Field(max_length=200)
    accessor_organisation_id: str = Field(max_length=36, index=True)
    accessor_organisation_type: str = Field(max_length=32)
    client_id: str = Field(max_length=64)
    role: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=200)
    purpose: str = Field(max_length=64)
    legal_basis: str = Field(max_length=300)
    reported_by: str = Field(max_length=64, description="The service client that reported it.")
    children: str = Field(sa_type=Text, description="Canonical JSON list of [upn, urn] pairs.")
    previous_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64, unique=True)


class AuditEntryChild(SharingTable, table=True):
    """One child of one entry, so entries are found by school or UPN."""

    __tablename__ = "audit_entry_child"
    __table_args__ = (
        Index("ix_audit_entry_child_school_urn_position", "school_urn", "position"),
        Index("ix_audit_entry_child_upn_position", "upn", "position"),
        {"info": {APPEND_ONLY: True}},
    )

    position: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False),
        description="The entry's: no foreign key, since the chain guards the index (migration "
        "0008; `attx audit verify` reports rows naming no entry).",
    )
    school_urn: str = Field(max_length=6, primary_key=True)
    upn: str = Field(max_length=13, primary_key=True)
