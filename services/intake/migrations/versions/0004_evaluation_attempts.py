"""The evaluation's attempt count and last error, shown on the application.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("evaluation_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("evaluation_error", sa.String(500), nullable=True))
    # the old name of the state in which an evaluation is being retried
    op.execute("UPDATE application SET evaluation_status = 'failed_retrying' WHERE evaluation_status = 'retrying'")
    op.create_index("ix_outboxmessage_application_id", "outboxmessage", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_outboxmessage_application_id", "outboxmessage")
    op.execute("UPDATE application SET evaluation_status = 'retrying' WHERE evaluation_status = 'failed_retrying'")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("evaluation_error")
        batch.drop_column("evaluation_attempts")
