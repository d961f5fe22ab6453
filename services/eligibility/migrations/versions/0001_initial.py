"""Evaluations.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=True),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("project_type", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation"),
    )
    op.create_index("ix_evaluation_application_id", "evaluation", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_evaluation_application_id", table_name="evaluation")
    op.drop_table("evaluation")
