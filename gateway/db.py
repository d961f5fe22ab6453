"""The gateway's own small database (user accounts): engine and migrations."""
from pathlib import Path

from sqlalchemy.engine import Engine

from common.db import open_service_database

from .settings import GatewaySettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_gateway"


def open_database(settings: GatewaySettings) -> Engine:
    """The gateway's engine, migrated to head unless migrate_on_start is off."""
    return open_service_database(settings, MIGRATIONS_DIR, VERSION_TABLE)
