"""Alembic environment of the eligibility service."""
from common.db import run_migration_env
from services.eligibility.models import EligibilityTable

run_migration_env(EligibilityTable.metadata)
