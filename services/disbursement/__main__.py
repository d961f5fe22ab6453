"""Commands of the disbursement service: `python -m services.disbursement migrate|openapi`."""
from pathlib import Path

from common.cli import run_cli

from .app import create_app
from .db import migrate

run_cli("disbursement", create_app, migrate, Path(__file__).parent / "openapi.json")
