"""District review decisions and the districts' submissions to the city.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewrecord",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reviewrecord"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name="fk_reviewrecord_application_id_application"),
    )
    op.create_index("ix_reviewrecord_application_id", "reviewrecord", ["application_id"])
    op.create_table(
        "districtsubmission",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("project_count", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_districtsubmission"),
        sa.UniqueConstraint("district_code", "edition", name="uq_districtsubmission_district_code_edition"),
    )


def downgrade() -> None:
    op.drop_table("districtsubmission")
    op.drop_table("reviewrecord")
