"""docker-compose.yml and the image, checked by parsing (no Docker engine here): health checks, one public port,
every process configured well enough to start in production mode."""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
ENV_EXAMPLE = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
PROCESSES = {"gateway": "gateway.settings.GatewaySettings",
             "intake": "services.intake.settings.IntakeSettings",
             "eligibility": "services.eligibility.settings.EligibilitySettings",
             "calculation": "services.calculation.settings.CalculationSettings",
             "disbursement": "services.disbursement.settings.DisbursementSettings"}


VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(:\?[^}]*)?\}")  # ${NAME} or ${NAME:?message}; $$ escapes


def _substitute(value: str) -> str:
    return VARIABLE.sub(lambda m: ENV_EXAMPLE[m.group(1)], str(value))


def test_every_variable_is_in_the_example_env_and_required():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = {m.group(1): m.group(2) for m in VARIABLE.finditer(text)}
    assert used and set(used) == set(ENV_EXAMPLE), "docker-compose.yml and .env.example name different variables"
    # compose refuses to start with a secret unset instead of running with an empty one
    assert all(required for required in used.values())
    secrets = [k for k in ENV_EXAMPLE if "PASSWORD" in k or "SECRET" in k]
    assert secrets and all(ENV_EXAMPLE[k].startswith("change-me") for k in secrets), "no real secret in the example"


def test_every_service_has_a_health_check_and_only_the_gateway_a_port():
    services = COMPOSE["services"]
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert [n for n, s in services.items() if s.get("ports")] == ["gateway"]


def test_processes_wait_for_the_migration_and_it_for_the_stores():
    services = COMPOSE["services"]
    for name in ("intake", "eligibility", "calculation", "disbursement"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert all(services["gateway"]["depends_on"][s]["condition"] == "service_healthy" for s in PROCESSES
               if s != "gateway")


def test_commands_are_ones_the_image_runs():
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    accepted = set(re.search(r'PROCESSES="([^"]+)"', entrypoint).group(1).split())
    for name in (*PROCESSES, "migrate"):
        service = COMPOSE["services"][name]
        assert service["image"] == "fundflow:latest"
        assert service["command"][0] in accepted


def test_the_backup_command_runs_from_the_image_with_the_stores_only():
    backup = COMPOSE["services"]["backup"]
    assert backup["image"] == "fundflow:latest" and backup["entrypoint"] == ["fundflow", "backup"]
    assert backup["profiles"] == ["ops"] and "ports" not in backup  # not started by `up`, never public
    assert set(backup["depends_on"]) == {"db", "create-bucket"}  # restores onto stores no process has touched
    assert backup["environment"] == COMPOSE["services"]["migrate"]["environment"]  # every process's settings
    assert "backups:/backups" in backup["volumes"] and "backups" in COMPOSE["volumes"]


def test_the_entrypoint_dispatches_by_name(tmp_path):
    entrypoint = ROOT / "deploy" / "entrypoint.sh"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    unknown = subprocess.run(["sh", str(entrypoint), "nonsense"], capture_output=True, text=True, env=env)
    assert unknown.returncode == 64 and "gateway|intake|eligibility|calculation|disbursement|migrate|backup" in \
        unknown.stderr
    verify = subprocess.run(["sh", str(entrypoint), "backup", "verify", "--from", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, env=env)
    assert verify.returncode == 1 and "holds no manifest.json" in verify.stderr


def test_the_image_runs_as_a_user_without_build_tools():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert final_stage.startswith("python:3.11-slim")
    assert "USER fundflow" in final_stage and "gcc" not in final_stage and "build-essential" not in final_stage
    assert "--no-install-recommends postgresql-client" in final_stage  # pg_dump/pg_restore for backups
    # the run command (deploy/serve.py) and the backup command, not the rest of deploy/
    assert "COPY --chown=fundflow:fundflow deploy/__init__.py deploy/backup.py deploy/serve.py deploy/" in final_stage
    # the venv is built on the same base as it runs on
    build_from = next(line for line in dockerfile.splitlines() if line.endswith(" AS build"))
    assert build_from == f"FROM {final_stage.splitlines()[0]} AS build"
    # the build context leaves out the local venv, git and data
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "data", ".env"} <= set(ignored)


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_each_process_starts_in_production_with_what_compose_gives_it(process, monkeypatch):
    environment = COMPOSE["services"][process]["environment"]
    for key in list(__import__("os").environ):
        if key.split("_", 1)[0] in {p.upper() for p in PROCESSES}:
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, _substitute(value))
    module, cls = PROCESSES[process].rsplit(".", 1)
    settings = getattr(importlib.import_module(module), cls)()  # refuses embedded defaults in production
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://")
    if process == "intake":
        assert settings.s3_endpoint == "minio:9000"
