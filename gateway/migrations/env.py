"""Alembic environment of the gateway's user store."""
from common.db import run_migration_env
from gateway.models import GatewayTable

run_migration_env(GatewayTable.metadata)
