"""Webhook subscriptions, events and their delivery queue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from common.migration_ops import create_webhook_tables, drop_webhook_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_webhook_tables()


def downgrade() -> None:
    drop_webhook_tables()
