"""Projects declared by submitted applications (N3.3: the same project declared twice).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claimedproject",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("project_type", sa.String(32), nullable=False),
        sa.Column("project_key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claimedproject"),
        sa.UniqueConstraint("application_id", name="uq_claimedproject_application_id"),
    )
    op.create_index("ix_claimedproject_project_key", "claimedproject", ["edition", "project_key"])
    op.create_index("ix_claimedproject_unit_type", "claimedproject", ["edition", "uscc", "project_type"])


def downgrade() -> None:
    op.drop_table("claimedproject")
