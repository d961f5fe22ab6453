"""Jobs: registry imports run in the background, resumable, each good line kept and each bad one reported.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from common.migration_ops import create_job_tables, drop_job_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_tables()


def downgrade() -> None:
    drop_job_tables()
