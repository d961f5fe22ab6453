"""Third-party audit results on projects, spot checks, expert scores.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("auditor", sa.String(100), nullable=True))
        batch.add_column(sa.Column("audit_opinion", sa.String(24), nullable=True))
        batch.add_column(sa.Column("audited_amount", sa.Numeric(18, 2), nullable=True))
        batch.add_column(sa.Column("audit_trace", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("audit_note", sa.String(2000), nullable=True))
    op.create_index("ix_project_auditor", "project", ["auditor"])
    op.create_table(
        "spotcheck",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("project_ids", sa.JSON(), nullable=False),
        sa.Column("drawn_by", sa.String(100), nullable=False),
        sa.Column("drawn_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spotcheck"),
    )
    op.create_table(
        "expertscore",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("expert", sa.String(100), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("scored_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_expertscore"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_expertscore_project_id_project"),
        sa.UniqueConstraint("project_id", "expert", name="uq_expertscore_project_id_expert"),
    )


def downgrade() -> None:
    op.drop_table("expertscore")
    op.drop_table("spotcheck")
    op.drop_index("ix_project_auditor", table_name="project")
    with op.batch_alter_table("project") as batch:
        for column in ("audit_note", "audit_trace", "audited_amount", "audit_opinion", "auditor"):
            batch.drop_column(column)
