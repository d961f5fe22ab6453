"""Commands of the eligibility service: `python -m services.eligibility migrate|openapi`."""
from pathlib import Path

from common.cli import run_cli

from .app import create_app
from .db import migrate

run_cli("eligibility", create_app, migrate, Path(__file__).parent / "openapi.json")
