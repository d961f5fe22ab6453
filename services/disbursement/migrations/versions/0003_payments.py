"""Payment instructions, idempotency records, clawbacks; the units' bank accounts on their projects.

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
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("bank_account_name", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("bank_name", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("bank_account_number", sa.String(40), nullable=False, server_default=""))
    op.create_table(
        "paymentinstruction",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("end_to_end_id", sa.String(40), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("leg", sa.String(12), nullable=False),
        sa.Column("payee_key", sa.String(40), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=True),
        sa.Column("payee_name", sa.String(200), nullable=False),
        sa.Column("payee_bank", sa.String(200), nullable=False),
        sa.Column("payee_account", sa.String(40), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("retry_of", sa.String(36), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("failure_reason", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_paymentinstruction"),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name="fk_paymentinstruction_plan_id_plan"),
        sa.UniqueConstraint("end_to_end_id", name="uq_paymentinstruction_end_to_end_id"),
        sa.UniqueConstraint("plan_id", "payee_key", "attempt", name="uq_paymentinstruction_plan_id_payee_key_attempt"),
    )
    op.create_index("ix_paymentinstruction_plan_id", "paymentinstruction", ["plan_id"])
    op.create_table(
        "idempotencyrecord",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotencyrecord"),
    )
    op.create_table(
        "clawback",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("recovered", sa.Numeric(18, 2), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("evidence", sa.String(1000), nullable=False),
        sa.Column("forged_materials", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clawback"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_clawback_project_id_project"),
    )


def downgrade() -> None:
    op.drop_table("clawback")
    op.drop_table("idempotencyrecord")
    op.drop_table("paymentinstruction")
    with op.batch_alter_table("project") as batch:
        for column in ("bank_account_number", "bank_name", "bank_account_name"):
            batch.drop_column(column)
