"""docker-compose.yml is valid Compose and configures only settings that exist.

No Docker engine runs on these machines, so the file is checked against the Compose
Specification schema, and every environment variable is resolved against the settings
class it is meant for.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from services.cli.bootstrap import ENVIRONMENT_VARIABLES as CLI_VARIABLES
from services.cli.registry import ALL_SERVICES, ServiceInfo

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def setting_exists(model: type[BaseModel], path: list[str]) -> bool:
    """Whether `a__b__c` names a field path through nested settings models."""
    field = model.model_fields.get(path[0])
    if field is None:
        return False
    if len(path) == 1:
        return True
    nested = field.annotation
    return (
        isinstance(nested, type)
        and issubclass(nested, BaseModel)
        and setting_exists(nested, path[1:])
    )


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("info", ALL_SERVICES, ids=lambda i: i.name)
def test_every_service_variable_names_an_existing_setting(info: ServiceInfo) -> None:
    environment: dict[str, str] = compose()["services"][info.name]["environment"]
    settings = info.settings_class()
    unknown = [
        name
        for name in environment
        if name.startswith(info.env_prefix)
        and not setting_exists(settings, name.removeprefix(info.env_prefix).lower().split("__"))
    ]
    others = [
        name
        for name in environment
        if not name.startswith(info.env_prefix) and name not in CLI_VARIABLES
    ]
    assert unknown == [], f"{info.name}: no such settings"
    assert others == [], f"{info.name}: variables nothing reads"


def test_the_migrate_job_sets_only_existing_database_settings() -> None:
    environment: dict[str, str] = compose()["services"]["migrate"]["environment"]
    by_prefix = {info.env_prefix: info for info in ALL_SERVICES}
    unknown = [
        name
        for name in environment
        if not any(
            name.startswith(prefix)
            and setting_exists(info.settings_class(), name.removeprefix(prefix).lower().split("__"))
            for prefix, info in by_prefix.items()
        )
    ]
    assert unknown == []


def test_each_service_connects_as_its_own_role_and_holds_no_owner_url() -> None:
    services = compose()["services"]
    for info in ALL_SERVICES:
        environment = services[info.name]["environment"]
        url = environment[f"{info.env_prefix}DATABASE__URL"]
        assert url.startswith(f"postgresql+psycopg://{info.name}_service:"), info.name
        assert f"{info.env_prefix}DATABASE__OWNER_URL" not in environment, info.name


def test_every_service_and_its_database_is_health_checked() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "ingest", "metrics", "sharing"}
    for name, spec in services.items():
        if name != "migrate":  # a job that runs once and exits
            assert "healthcheck" in spec, name
        for dependency, condition in spec.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert condition["condition"] == expected, name


def test_every_service_starts_after_the_migrations() -> None:
    services = compose()["services"]
    for info in ALL_SERVICES:
        assert "migrate" in services[info.name]["depends_on"], info.name


def test_env_example_lists_every_interpolated_variable() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    assert used - listed == set()
