"""Every module of the services and `shared` imports on its own, in a fresh interpreter:
no import cycle that works only when something else happened to be imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("services", "shared")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts  # Alembic runs those, inside its own context
)

# Each module is imported in a child forked from an interpreter that has imported only
# the third-party libraries (a fresh interpreter per module would take a minute).
_PROBE = """
import os, sys
import alembic.command, authlib.integrations.httpx_client, cryptography, defusedxml.ElementTree
import fastapi, httpx2, ijson, joserfc.jwt, psycopg, pydantic_settings, rich
import sqlalchemy.dialects.postgresql, sqlmodel, standardwebhooks, stdnum, typer, uvicorn
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            __import__(name)
        except BaseException as exc:
            print(f"{name}: {exc!r}", flush=True)
            os._exit(1)
        os._exit(0)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if status not in (0, 1):  # 1: the child said why
        print(f"{name}: the import ended the interpreter ({status})", flush=True)
"""


def test_every_module_imports_on_its_own() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, *MODULES],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    assert (probe.stdout.splitlines(), len(MODULES) > 100) == ([], True)
