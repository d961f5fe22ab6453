"""Alembic environment of the intake service."""
from sqlmodel import SQLModel

from common.db import run_migration_env
from services.intake import models  # noqa: F401  (registers the tables on the metadata)

run_migration_env(SQLModel.metadata)
