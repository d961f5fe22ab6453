"""Jobs: a district's summary table made in the background, resumable.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from common.migration_ops import create_job_tables, drop_job_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_tables()


def downgrade() -> None:
    drop_job_tables()
