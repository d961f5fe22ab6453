"""The eligibility service's own database: engine creation and migrations."""
from pathlib import Path

from sqlalchemy.engine import Engine

from common.db import open_service_database

from .settings import EligibilitySettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_eligibility"


def open_database(settings: EligibilitySettings) -> Engine:
    """The service's engine, migrated to head unless migrate_on_start is off."""
    return open_service_database(settings, MIGRATIONS_DIR, VERSION_TABLE)


def migrate() -> None:
    """Apply the migrations (the `migrate` command and the deployment's migration job)."""
    settings = EligibilitySettings(migrate_on_start=True)
    open_database(settings).dispose()
