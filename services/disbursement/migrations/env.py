"""Alembic environment of the disbursement service."""
from common.db import run_migration_env
from services.disbursement.models import DisbursementTable

run_migration_env(DisbursementTable.metadata)
