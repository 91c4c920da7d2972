"""`attx openapi`: write (or check) each service's OpenAPI document under openapi/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.registry import ALL_SERVICES, ServiceInfo
from shared.settings import DatabaseSettings, OAuthSettings

DEFAULT_DIR = Path("openapi")


def generate(info: ServiceInfo) -> dict[str, Any]:
    """The service's OpenAPI document under default settings, whatever the environment says."""
    settings = info.settings_class()(
        database=DatabaseSettings(url="sqlite://"), oauth=OAuthSettings()
    )
    document: dict[str, Any] = info.create_app(settings).openapi()
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def command(
    out: Annotated[Path, typer.Option(help="Folder to write <service>.json into.")] = DEFAULT_DIR,
    check: Annotated[
        bool, typer.Option(help="Only check the committed documents are current.")
    ] = False,
) -> None:
    """Write openapi/<service>.json for every service (or, with --check, fail if stale)."""
    stale = []
    for info in ALL_SERVICES:
        path = out / f"{info.name}.json"
        text = render(generate(info))
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")
    if stale:
        typer.echo(f"stale: {', '.join(stale)}; run `attx openapi`", err=True)
        raise typer.Exit(1)
