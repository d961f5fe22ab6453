"""Allocation plans with their items, objections, the audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime
from common.migration_ops import create_audit_tables, drop_audit_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("budget", sa.Numeric(18, 2), nullable=False),
        sa.Column("total", sa.Numeric(18, 2), nullable=False),
        sa.Column("scaling_factor", sa.String(40), nullable=False),
        sa.Column("previous_id", sa.String(36), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("finalised_at", UtcDateTime(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan"),
        sa.UniqueConstraint("edition", "version", name="uq_plan_edition_version"),
    )
    op.create_table(
        "planitem",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("computed_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("capped_amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("allocated_amount", sa.Numeric(18, 2), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planitem"),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name="fk_planitem_plan_id_plan"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_planitem_project_id_project"),
        sa.UniqueConstraint("plan_id", "project_id", name="uq_planitem_plan_id_project_id"),
    )
    op.create_index("ix_planitem_plan_id", "planitem", ["plan_id"])
    op.create_table(
        "objection",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("filed_by", sa.String(100), nullable=False),
        sa.Column("statement", sa.String(2000), nullable=False),
        sa.Column("filed_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("resolution", sa.String(2000), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("new_plan_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_objection"),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name="fk_objection_plan_id_plan"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_objection_project_id_project"),
    )
    op.create_index("ix_objection_plan_id", "objection", ["plan_id"])
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
    op.drop_table("objection")
    op.drop_table("planitem")
    op.drop_table("plan")
