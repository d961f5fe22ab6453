"""Commands of the intake service: `python -m services.intake migrate|openapi`."""
from pathlib import Path

from common.cli import run_cli

from .app import create_app
from .db import migrate

run_cli("intake", create_app, migrate, Path(__file__).parent / "openapi.json")
