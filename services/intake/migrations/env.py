"""Alembic environment of the intake service."""
from common.db import run_migration_env
from services.intake.models import IntakeTable

run_migration_env(IntakeTable.metadata)
