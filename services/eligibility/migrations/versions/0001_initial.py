"""Evaluations, registries (credit list, debarments, recognised TCM bases, claimed invoices), audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime
from common.migration_ops import create_audit_tables, drop_audit_tables

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
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation"),
    )
    op.create_index("ix_evaluation_application_id", "evaluation", ["application_id"])
    op.create_table(
        "creditentry",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("delisted_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_creditentry"),
    )
    op.create_index("ix_creditentry_uscc", "creditentry", ["uscc"])
    op.create_table(
        "debarment",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_debarment"),
    )
    op.create_index("ix_debarment_uscc", "debarment", ["uscc"])
    op.create_table(
        "recognisedbase",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("base_name", sa.String(200), nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recognisedbase"),
        sa.UniqueConstraint("uscc", name="uq_recognisedbase_uscc"),
    )
    op.create_table(
        "claimedinvoice",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("invoice_number", sa.String(40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claimedinvoice"),
        sa.UniqueConstraint("edition", "application_id", "invoice_number", "line_no",
                            name="uq_claimedinvoice_edition_application_id_invoice_number_line_no"),
    )
    op.create_index("ix_claimedinvoice_invoice_number", "claimedinvoice", ["edition", "invoice_number"])
    op.create_index("ix_claimedinvoice_application_id", "claimedinvoice", ["application_id"])
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
    for table in ("claimedinvoice", "recognisedbase", "debarment", "creditentry", "evaluation"):
        op.drop_table(table)
