"""The calculation service's own database: engine creation and migrations."""
from pathlib import Path

from sqlalchemy.engine import Engine

from common.db import open_service_database

from .settings import CalculationSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_calculation"


def open_database(settings: CalculationSettings) -> Engine:
    """The service's engine, migrated to head unless migrate_on_start is off."""
    return open_service_database(settings, MIGRATIONS_DIR, VERSION_TABLE)


def migrate() -> None:
    """Apply the migrations (the `migrate` command and the deployment's migration job)."""
    settings = CalculationSettings(migrate_on_start=True)
    open_database(settings).dispose()
