"""Applicants, applications and their versions, documents, the evaluation outbox, the audit trail.

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
        "applicant",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("legal_representative", sa.String(100), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("uscc_division_code", sa.String(6), nullable=False),
        sa.Column("registered_capital", sa.Numeric(18, 2), nullable=False),
        sa.Column("contact_name", sa.String(50), nullable=False),
        sa.Column("contact_phone", sa.String(30), nullable=False),
        sa.Column("bank_account_name", sa.String(200), nullable=False),
        sa.Column("bank_name", sa.String(200), nullable=False),
        sa.Column("bank_account_number", sa.String(40), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applicant"),
        sa.UniqueConstraint("uscc", name="uq_applicant_uscc"),
    )
    op.create_index("ix_applicant_district_code", "applicant", ["district_code"])
    op.create_table(
        "application",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("applicant_id", sa.String(36), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("project_type", sa.String(32), nullable=False),
        sa.Column("single_project_key", sa.String(80), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("evaluation_status", sa.String(20), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=True),
        sa.Column("computation", sa.JSON(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_application"),
        sa.ForeignKeyConstraint(["applicant_id"], ["applicant.id"], name="fk_application_applicant_id_applicant"),
        sa.UniqueConstraint("single_project_key", name="uq_application_single_project_key"),
    )
    # the listing filters: status, type and edition, newest first
    op.create_index("ix_application_applicant_id", "application", ["applicant_id"])
    op.create_index("ix_application_status", "application", ["status"])
    op.create_index("ix_application_listing", "application", ["edition", "status", "project_type", "created_at"])
    op.create_table(
        "applicationversion",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applicationversion"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name="fk_applicationversion_application_id_application"),
        sa.UniqueConstraint("application_id", "version", name="uq_applicationversion_application_id_version"),
    )
    op.create_table(
        "document",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(60), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_document"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], name="fk_document_application_id_application"),
    )
    op.create_index("ix_document_application_id", "document", ["application_id"])
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outboxmessage"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name="fk_outboxmessage_application_id_application"),
    )
    op.create_index("ix_outboxmessage_due", "outboxmessage", ["status", "next_attempt_at"])
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
    for table in ("outboxmessage", "document", "applicationversion", "application", "applicant"):
        op.drop_table(table)
