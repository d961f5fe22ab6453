"""Contracts that hold without a running system: committed OpenAPI documents and service boundaries."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "eligibility", "calculation", "disbursement")


@pytest.mark.parametrize("service", SERVICES)
def test_committed_openapi_matches_the_app(service):
    # each service in a process of its own, as in production: their tables share no metadata
    result = subprocess.run([sys.executable, "-m", f"services.{service}", "openapi", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, (
        f"the {service} API differs from its committed OpenAPI document: run `make openapi` and review the diff\n"
        + result.stderr[-2000:])


def test_services_never_import_each_other():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_docs_are_current():
    result = subprocess.run([sys.executable, "-m", "tools.gendocs", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
