"""Contracts that hold without a running system: committed OpenAPI documents and service boundaries."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from common.cli import openapi_text

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "eligibility", "calculation", "disbursement")


@pytest.mark.parametrize("service", SERVICES)
def test_committed_openapi_matches_the_app(service):
    app = importlib.import_module(f"services.{service}.app").create_app()
    committed = ROOT / "services" / service / "openapi.json"
    assert committed.exists(), f"{committed} is missing: run `make openapi`"
    assert committed.read_text(encoding="utf-8") == openapi_text(app), (
        f"the {service} API differs from its committed OpenAPI document: run `make openapi` and review the diff")


def test_services_never_import_each_other():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_docs_are_current():
    result = subprocess.run([sys.executable, "-m", "gateway.docs", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
