"""`attx audit verify`: walk the audit trail's hash chain and report the first broken entry.

Exit status 0 when every entry's hash, previous hash, position and children index hold;
1 at the first entry that does not (altered, missing, out of order), naming it. The head
(position and hash) is printed either way: keep it somewhere else (a ticket, another
system), since removing entries from the *end* of a chain, or rewriting and rehashing it,
leaves a chain that is still valid; `--recorded-head POSITION:HASH` checks the chain still
holds that head, and `--checkpoint TOKEN` does the same for a head the service signed
(`GET /v1/audit/checkpoint`), once its signature checks against the service's keys.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer
from sqlmodel import Session

from services.sharing.domain.audit import RecordedHead, verify_chain
from services.sharing.domain.checkpoints import Checkpoint, InvalidCheckpoint, read_checkpoint
from services.sharing.domain.keys import public_key_set
from services.sharing.domain.sealing import Sealer
from services.sharing.settings import SharingSettings
from services.sharing.store.audit_repository import AuditRepository
from services.sharing.store.repository import SigningKeyRepository
from shared.db import create_db_engine

audit_app = typer.Typer(help="The audit trail of pupil-level reads.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    database_url: Annotated[
        str | None,
        typer.Option(help="The sharing database; default from SHARING_DATABASE__URL."),
    ] = None,
    recorded_head: Annotated[
        str | None,
        typer.Option(
            help="A head printed by an earlier run, POSITION:HASH: fail unless the chain "
            "still holds it.",
            metavar="POSITION:HASH",
        ),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="A checkpoint from GET /v1/audit/checkpoint: refused unless one of the "
            "service's signing keys signed it; fail unless the chain still holds its head.",
            metavar="TOKEN",
        ),
    ] = None,
) -> None:
    """Check every entry of the audit trail's hash chain, in order."""
    if recorded_head and checkpoint:
        raise typer.BadParameter("give a recorded head or a checkpoint, not both")
    recorded = _recorded_head(recorded_head) if recorded_head else None
    settings = SharingSettings()
    engine = create_db_engine(database_url or settings.database.url)
    try:
        with Session(engine) as session:
            if checkpoint:
                signed = _checkpoint(session, settings.sealer(), checkpoint)
                recorded = signed.head
                typer.echo(
                    f"checkpoint signed by key {signed.kid} at {signed.issued_at.isoformat()}: "
                    f"head position {signed.head.position}, hash {signed.head.entry_hash}"
                )
            trail = AuditRepository(session)
            report = verify_chain(
                trail.walk(),
                recorded=recorded,
                index_beyond=trail.first_index_position_beyond,
            )
    finally:
        engine.dispose()
    if report.broken is not None:
        typer.echo(
            f"audit trail BROKEN at entry {report.broken.position}: {report.broken.reason}",
            err=True,
        )
        typer.echo(
            f"last good entry: position {report.head_position}, hash {report.head_hash}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(
        f"audit trail intact: {report.entries} entries; "
        f"head position {report.head_position}, hash {report.head_hash}"
    )


def _checkpoint(session: Session, sealer: Sealer, token: str) -> Checkpoint:
    """The checkpoint, checked against every key the service has signed with (a retired
    key no longer verifies tokens, but still its checkpoints)."""
    keys = SigningKeyRepository(session, sealer)
    try:
        return read_checkpoint(token, public_key_set(keys.private_jwks(keys.all())))
    except InvalidCheckpoint as exc:
        raise typer.BadParameter(str(exc), param_hint="--checkpoint") from exc


def _recorded_head(value: str) -> RecordedHead:
    position, _, digest = value.partition(":")
    if not position.isdigit() or int(position) < 1 or re.fullmatch(r"[0-9a-f]{64}", digest) is None:
        raise typer.BadParameter(
            "expected POSITION:HASH, e.g. 42:" + "0" * 64, param_hint="--recorded-head"
        )
    return RecordedHead(int(position), digest)
