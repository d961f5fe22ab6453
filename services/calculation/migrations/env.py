"""Alembic environment of the calculation service."""
from common.db import run_migration_env
from services.calculation.models import CalculationTable

run_migration_env(CalculationTable.metadata)
