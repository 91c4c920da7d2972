"""The synthetic local authority: `attx demo-data` writes it, `load_demo` loads it."""

from services.cli.demo.command import command
from services.cli.demo.loader import load_demo

__all__ = ["command", "load_demo"]
