"""`attx submit FILE --school URN`: send one attendance return to the ingest service.

The format comes from the file name (`.json`; `.xml` for a CTF; `.csv` for marks, with
`--roll` for the roll part) or from `--format`. The body is streamed from disk in chunks
with a progress bar, so a full-year backfill never has to fit in memory twice: the
token is fetched with authlib's OAuth 2.0 client, and the upload itself carries it as a
plain bearer header (authlib's auth flow would read the whole body first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx2 as httpx
import typer
from authlib.integrations.httpx_client import OAuth2Client
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from services.ingest.domain.formats import ROLL_COLUMNS

CHUNK = 1 << 20


class ReturnFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    CTF = "ctf"


def detect_format(path: Path) -> ReturnFormat:
    """The return format a file's name says it is in."""
    name = path.name.lower()
    if name.endswith(".json"):
        return ReturnFormat.JSON
    if name.endswith(".xml"):
        return ReturnFormat.CTF
    if name.endswith(".csv"):
        return ReturnFormat.CSV
    raise ValueError(f"cannot tell the format of {path.name}: use --format json|csv|ctf")


@dataclass(frozen=True)
class Upload:
    """A request body as parts read lazily from disk, with its length and content type."""

    content_type: str
    parts: tuple[bytes | Path, ...]

    @property
    def length(self) -> int:
        return sum(len(p) if isinstance(p, bytes) else p.stat().st_size for p in self.parts)

    def chunks(self, advance: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The body, a chunk at a time; `advance(n)` is told of every chunk sent."""
        for part in self.parts:
            if isinstance(part, bytes):
                pieces: Iterator[bytes] = iter([part])
            else:
                pieces = _read_chunks(part)
            for piece in pieces:
                if advance is not None:
                    advance(len(piece))
                yield piece


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def build_upload(
    path: Path,
    return_format: ReturnFormat,
    *,
    roll: Path | None = None,
    replace_from: date | None = None,
    replace_to: date | None = None,
) -> Upload:
    """The body of a return: the file as is, or for CSV the multipart form of its parts."""
    if return_format is ReturnFormat.JSON:
        return Upload("application/json", (path,))
    if return_format is ReturnFormat.CTF:
        return Upload("application/xml", (path,))
    if roll is None and replace_from is None and replace_to is None:
        return Upload("text/csv", (path,))
    files = [("roll", roll), ("marks", path)] if roll is not None else [("marks", path)]
    # The boundary comes from the parts' bytes, so sending the same files again is the
    # same body, and an Idempotency-Key replay is recognised as one.
    digest = hashlib.sha256()
    for _name, file in files:
        for chunk in _read_chunks(file):
            digest.update(chunk)
    boundary = f"attx-{digest.hexdigest()[:40]}"
    parts: list[bytes | Path] = []
    if roll is None:
        # A multipart return requires a roll part; an empty roll is just its header.
        parts.append(_part_header(boundary, "roll", "roll.csv"))
        parts.append((",".join(ROLL_COLUMNS) + "\r\n").encode() + b"\r\n")
    for name, file in files:
        parts.append(_part_header(boundary, name, file.name))
        parts.append(file)
        parts.append(b"\r\n")
    for name, day in (("replace_from", replace_from), ("replace_to", replace_to)):
        if day is not None:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{day.isoformat()}\r\n".encode()
            )
    parts.append(f"--{boundary}--\r\n".encode())
    return Upload(f"multipart/form-data; boundary={boundary}", tuple(parts))


def _part_header(boundary: str, name: str, filename: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        "\r\nContent-Type: text/csv; charset=utf-8\r\n\r\n"
    ).encode()


def access_token(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    scope: str = "returns:write",
    transport: httpx.BaseTransport | None = None,
) -> str:
    """A client-credentials access token from the sharing service."""
    with OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        token_endpoint=token_url,
        transport=transport,
    ) as client:
        token = client.fetch_token(token_url, grant_type="client_credentials")
    return str(token["access_token"])


def send_return(
    http: httpx.Client,
    *,
    ingest_url: str,
    urn: str,
    token: str,
    upload: Upload,
    idempotency_key: str | None = None,
    advance: Callable[[int], None] | None = None,
) -> httpx.Response:
    """POST the upload to `/v1/schools/{urn}/returns`, streaming it."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": upload.content_type,
        "Content-Length": str(upload.length),
        "Accept": "application/json, application/problem+json",
    }
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return http.post(
        f"{ingest_url.rstrip('/')}/v1/schools/{urn}/returns",
        content=upload.chunks(advance),
        headers=headers,
    )


def format_problem(response: httpx.Response) -> str:
    """A problem+json answer as readable lines (any other error body as it came)."""
    try:
        problem: dict[str, Any] = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}\n{response.text[:2000]}"
    lines = [f"{response.status_code} {problem.get('title', response.reason_phrase)}"]
    if problem.get("detail"):
        lines.append(str(problem["detail"]))
    errors = problem.get("errors") or []
    for item in errors:
        lines.append(
            f"  {item.get('location', '?')}: {item.get('detail', '')} [{item.get('code', '')}]"
        )
    total = problem.get("errors_total")
    if isinstance(total, int) and total > len(errors):
        lines.append(f"  … and {total - len(errors)} more")
    return "\n".join(lines)


def format_receipt(receipt: dict[str, Any]) -> str:
    """The receipt of an accepted return, as a few lines."""
    pupils = receipt.get("pupils", {})
    marks = receipt.get("marks", {})
    lines = [
        f"Return {receipt.get('id')} accepted for school {receipt.get('school_urn')} "
        f"({receipt.get('format')}).",
        "  pupils: " + ", ".join(f"{k} {v}" for k, v in pupils.items()),
        "  marks:  " + ", ".join(f"{k} {v}" for k, v in marks.items()),
        f"  sha256: {receipt.get('checksum_sha256')}",
    ]
    for warning in receipt.get("warnings", []):
        lines.append(
            f"  warning {warning.get('code')}: {warning.get('detail')} ({warning.get('count')})"
        )
    return "\n".join(lines)


def command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The return.")],
    school: Annotated[str, typer.Option("--school", help="The school's 6-digit URN.")],
    return_format: Annotated[
        ReturnFormat | None,
        typer.Option("--format", help="json, csv or ctf; default: from the file extension."),
    ] = None,
    roll: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV: the roll part of the return."),
    ] = None,
    replace_from: Annotated[
        str | None, typer.Option(help="CSV: first day the return replaces (YYYY-MM-DD).")
    ] = None,
    replace_to: Annotated[
        str | None, typer.Option(help="CSV: last day the return replaces (YYYY-MM-DD).")
    ] = None,
    ingest_url: Annotated[
        str, typer.Option(envvar="ATTX_INGEST_URL", help="The ingest service.")
    ] = "http://127.0.0.1:8001",
    token_url: Annotated[
        str, typer.Option(envvar="ATTX_TOKEN_URL", help="The OAuth token endpoint.")
    ] = "http://127.0.0.1:8003/oauth/token",
    client_id: Annotated[str, typer.Option(envvar="ATTX_CLIENT_ID", help="OAuth client id.")] = "",
    client_secret: Annotated[
        str, typer.Option(envvar="ATTX_CLIENT_SECRET", help="OAuth client secret.")
    ] = "",
    idempotency_key: Annotated[
        str | None, typer.Option(help="Resending with the same key returns the first receipt.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Send one attendance return and print its receipt; problems are listed, exit code 1."""
    console = Console(stderr=True)
    if not client_id or not client_secret:
        console.print("Give --client-id and --client-secret (or ATTX_CLIENT_ID/SECRET).")
        raise typer.Exit(2)
    try:
        chosen = return_format or detect_format(file)
        upload = build_upload(
            file,
            chosen,
            roll=roll,
            replace_from=date.fromisoformat(replace_from) if replace_from else None,
            replace_to=date.fromisoformat(replace_to) if replace_to else None,
        )
    except ValueError as error:
        console.print(str(error))
        raise typer.Exit(2) from error
    try:
        token = access_token(token_url, client_id, client_secret)
    except Exception as error:  # authlib raises its own OAuthError or an httpx error
        console.print(f"Could not get a token from {token_url}: {error}")
        raise typer.Exit(1) from error
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            transient=True,
        ) as progress,
        httpx.Client(timeout=httpx.Timeout(30.0, read=600.0)) as http,
    ):
        task = progress.add_task(f"Sending {file.name}", total=upload.length)
        try:
            response = send_return(
                http,
                ingest_url=ingest_url,
                urn=school,
                token=token,
                upload=upload,
                idempotency_key=idempotency_key,
                advance=lambda n: progress.advance(task, n),
            )
        except httpx.HTTPError as error:
            console.print(f"Could not reach {ingest_url}: {error}")
            raise typer.Exit(1) from error
    if response.status_code in (200, 201):
        receipt = response.json()
        typer.echo(json.dumps(receipt, indent=2) if as_json else format_receipt(receipt))
        return
    console.print(format_problem(response), markup=False)
    raise typer.Exit(1)
