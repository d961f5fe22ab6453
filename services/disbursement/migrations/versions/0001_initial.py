"""Projects taken over from the districts.

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
        "project",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("project_type", sa.String(32), nullable=False),
        sa.Column("computed_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_project"),
        sa.UniqueConstraint("application_id", name="uq_project_application_id"),
    )
    op.create_index("ix_project_edition", "project", ["edition"])
    op.create_index("ix_project_uscc", "project", ["uscc"])


def downgrade() -> None:
    op.drop_table("project")
