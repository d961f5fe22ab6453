"""Jobs: bank statements applied in the background line by line, large plans exported, both resumable.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from common.migration_ops import create_job_tables, drop_job_tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_tables()


def downgrade() -> None:
    drop_job_tables()
