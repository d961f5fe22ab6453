"""Alembic environment of the gateway's user store."""
from sqlmodel import SQLModel

from common.db import run_migration_env
from gateway import models  # noqa: F401  (registers the table on the metadata)

run_migration_env(SQLModel.metadata)
