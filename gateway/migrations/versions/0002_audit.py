"""The hash-chained audit trail of account changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from common.migration_ops import create_audit_tables, drop_audit_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
