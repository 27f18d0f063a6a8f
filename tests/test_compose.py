"""Offline checks of the container set-up: compose.yaml, Dockerfile, pyproject.toml.

Nothing here starts a container or touches the network. The Compose file is validated
against the Compose specification schema vendored in check-jsonschema, then parsed to
assert what a reviewer would look for.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

# ${VAR}, ${VAR:-default}, ${VAR-default}; $$ is a literal dollar.
_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}"
)


def _with_defaults(value: Any) -> Any:
    """Apply Compose interpolation as if no variable were set: each takes its default."""
    if isinstance(value, str):
        return _INTERPOLATION.sub(
            lambda m: "$" if m.group(0) == "$$" else (m.group("default") or ""), value
        )
    if isinstance(value, dict):
        return {key: _with_defaults(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_defaults(item) for item in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _with_defaults(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def console_scripts() -> dict[str, str]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _one_shot(services: dict[str, dict[str, Any]]) -> set[str]:
    """Services that others wait on to *finish*: the one-shot jobs."""
    return {
        name
        for service in services.values()
        for name, dep in (service.get("depends_on") or {}).items()
        if isinstance(dep, dict) and dep.get("condition") == "service_completed_successfully"
    }


def _command(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else list(value)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):  # also inside continuations
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    pairs = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def _check_jsonschema() -> str:
    exe = Path(sys.executable).with_name("check-jsonschema")
    found = str(exe) if exe.exists() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[test]'")
    return found


# --- the Compose file ------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    one_shot = _one_shot(services)
    for name, service in services.items():
        if name in one_shot:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_one_shot_services_are_not_restarted(services: dict[str, Any]) -> None:
    assert "migrate" in _one_shot(services)
    for name in _one_shot(services):
        assert services[name].get("restart", "no") in {"no", "on-failure"}, name


def test_api_waits_for_migrations_and_its_backing_services(services: dict[str, Any]) -> None:
    depends = services["api"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    for backing in ("postgres", "redis", "meilisearch"):
        assert depends[backing]["condition"] == "service_healthy", backing
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_dependency_is_a_defined_service(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dep in service.get("depends_on") or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"


def test_migrate_and_api_run_the_expected_commands(services: dict[str, Any]) -> None:
    assert _command(services["migrate"]["command"]) == ["market", "db", "upgrade"]
    api = _command(services["api"]["command"])
    assert api[:2] == ["market", "serve"]
    assert api[api.index("--host") + 1] == "0.0.0.0"  # noqa: S104 (inside the container)
    assert api[api.index("--port") + 1] == "8000"


def test_api_database_url_points_at_the_postgres_service(services: dict[str, Any]) -> None:
    url = urlsplit(_env(services["api"])["MARKET_DATABASE_URL"])
    assert url.scheme.startswith("postgresql")
    assert url.hostname == "postgres"
    assert url.port == 5432
    postgres = _env(services["postgres"])
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_api_and_migrate_share_the_same_settings(services: dict[str, Any]) -> None:
    assert _env(services["api"]) == _env(services["migrate"])


def test_api_points_at_the_stack_services(services: dict[str, Any]) -> None:
    env = _env(services["api"])
    assert urlsplit(env["MARKET_REDIS_URL"]).hostname == "redis"
    assert urlsplit(env["MARKET_MEILI_URL"]).hostname == "meilisearch"
    payments = urlsplit(env["MARKET_PAYMENTS_URL"])
    assert payments.hostname == "paymock"
    assert payments.port == int(_env(services["paymock"])["PAYMOCK_PORT"])
    assert env["MARKET_SEARCH_BACKEND"] == "meilisearch"
    assert env["MARKET_BROKER"] == "redis"
    assert env["MARKET_MEILI_KEY"] == _env(services["meilisearch"])["MEILI_MASTER_KEY"]


def test_paymock_and_api_agree_on_secrets_and_webhook(services: dict[str, Any]) -> None:
    api, paymock = _env(services["api"]), _env(services["paymock"])
    assert paymock["PAYMOCK_SECRET_KEY"] == api["MARKET_PAYMENTS_SECRET_KEY"]
    assert paymock["PAYMOCK_WEBHOOK_SECRET"] == api["MARKET_PAYMENTS_WEBHOOK_SECRET"]
    hook = urlsplit(paymock["PAYMOCK_WEBHOOK_URL"])
    assert (hook.hostname, hook.port) == ("api", 8000)


def test_paymock_keeps_its_own_database_in_a_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    paymock = services["paymock"]
    db_url = _env(paymock)["PAYMOCK_DATABASE_URL"]
    assert db_url != _env(services["api"])["MARKET_DATABASE_URL"]
    assert db_url.startswith("sqlite:////data/")
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in paymock["volumes"]}
    assert mounts["/data"] in compose["volumes"]


def test_stateful_services_use_named_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    for name in ("postgres", "meilisearch"):
        sources = [volume.split(":")[0] for volume in services[name]["volumes"]]
        assert any(source in compose["volumes"] for source in sources), name


def test_images_are_pinned_and_never_latest(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service.get("image")
        assert image or service.get("build"), f"{name} has neither image nor build"
        if not image:
            continue
        reference = image.split("@", 1)[0]
        repository, _, tag = reference.rpartition(":")
        assert repository, f"{name}: image {image!r} has no tag"
        assert "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} uses latest"


def test_meilisearch_image_is_pinned_to_a_release(services: dict[str, Any]) -> None:
    image = services["meilisearch"]["image"]
    assert re.fullmatch(r"getmeili/meilisearch:v1\.\d+\.\d+", image), image


def test_app_services_run_console_scripts_or_project_modules(
    services: dict[str, Any], console_scripts: dict[str, str]
) -> None:
    for name, service in services.items():
        if "build" not in service or "command" not in service:
            continue
        command = _command(service["command"])
        if command[0] == "python":
            assert command[1] == "-m", name
            assert (ROOT / command[2].split(".")[0]).is_dir(), f"{name}: no package {command[2]}"
        else:
            assert command[0] in console_scripts, f"{name}: {command[0]} is no console script"


# --- the Dockerfile --------------------------------------------------------------------


def test_dockerfile_base_image_and_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases
    assert all(base == "python:3.11-slim" for base in bases), bases
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_exposes_8000_and_probes_health_without_curl() -> None:
    instructions = _dockerfile_instructions()
    assert any(keyword == "EXPOSE" and "8000" in args.split() for keyword, args in instructions)
    checks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/health" in checks[0]
    assert "curl" not in checks[0]


def test_dockerfile_installs_without_dev_dependencies() -> None:
    runs = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    assert "pip install" in runs
    assert not re.search(r"\.\[[^\]]*\]", runs), "the image must not install extras"


def test_dockerfile_copies_every_installable_package() -> None:
    include = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    copied = {
        args.split()[0].rstrip("/")
        for keyword, args in _dockerfile_instructions()
        if keyword == "COPY" and not args.startswith("--from")
    }
    for pattern in include:
        assert pattern.rstrip("*") in copied, f"Dockerfile does not copy {pattern}"


def test_dockerfile_commands_are_declared_console_scripts(console_scripts: dict[str, str]) -> None:
    commands = [
        (keyword, args)
        for keyword, args in _dockerfile_instructions()
        if keyword in {"CMD", "ENTRYPOINT"}
    ]
    assert commands, "the Dockerfile has no CMD or ENTRYPOINT"
    for keyword, args in commands:
        assert args.startswith("["), f"{keyword} should use the exec (JSON) form"
        argv = json.loads(args)
        assert argv[0] in console_scripts, f"{keyword} runs {argv[0]!r}, not a console script"
    cmd = json.loads(dict(commands)["CMD"])
    assert cmd[:2] == ["market", "serve"]
    assert cmd[cmd.index("--port") + 1] == "8000"


def test_workers_and_the_scheduler_run_with_the_apis_settings(services: dict[str, Any]) -> None:
    api_env = _env(services["api"])
    for name, command in (("worker", ["market", "worker"]), ("scheduler", ["market", "scheduler"])):
        service = services[name]
        assert _command(service["command"])[:2] == command
        env = _env(service)
        assert env.pop("MARKET_HEARTBEAT_FILE")
        assert env == api_env, name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert env["MARKET_BROKER"] == "redis"
