"""docker-compose.yml and the image, checked by parsing (no Docker engine here): health checks, one public port,
every process configured well enough to start in production mode."""
from __future__ import annotations

import importlib
import re
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


def _substitute(value: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: ENV_EXAMPLE[m.group(1)], str(value))


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


def test_the_image_runs_as_a_user_without_build_tools():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert final_stage.startswith("python:3.11-slim")
    assert "USER fundflow" in final_stage and "gcc" not in final_stage and "build-essential" not in final_stage


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
