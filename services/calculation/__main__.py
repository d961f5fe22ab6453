"""Commands of the calculation service: `python -m services.calculation migrate|openapi`."""
from pathlib import Path

from common.cli import run_cli

from .app import create_app
from .db import migrate

run_cli("calculation", create_app, migrate, Path(__file__).parent / "openapi.json")
