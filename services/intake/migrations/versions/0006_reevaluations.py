"""Re-evaluations of an edition: the request, and which outbox messages it queued.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reevaluation",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("edition", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reevaluation"),
    )
    op.create_index("ix_reevaluation_edition", "reevaluation", ["edition"])
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("reevaluation_id", sa.String(36), nullable=True))
        batch.create_foreign_key("fk_outboxmessage_reevaluation_id_reevaluation", "reevaluation",
                                 ["reevaluation_id"], ["id"])
        batch.create_index("ix_outboxmessage_reevaluation_id", ["reevaluation_id"])


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_index("ix_outboxmessage_reevaluation_id")
        batch.drop_constraint("fk_outboxmessage_reevaluation_id_reevaluation", type_="foreignkey")
        batch.drop_column("reevaluation_id")
    op.drop_index("ix_reevaluation_edition", "reevaluation")
    op.drop_table("reevaluation")
