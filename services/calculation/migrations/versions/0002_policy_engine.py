"""Policy engine: a computation keeps its unit, reference date, the audit's disallowed lines, warnings and the
digest of the dossier it priced.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("computation") as batch:
        batch.add_column(sa.Column("uscc", sa.String(40), nullable=True))
        batch.add_column(sa.Column("reference_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("disallowed", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("dossier_sha256", sa.String(64), nullable=True))
    op.create_index("ix_computation_uscc", "computation", ["uscc"])


def downgrade() -> None:
    op.drop_index("ix_computation_uscc", table_name="computation")
    with op.batch_alter_table("computation") as batch:
        batch.drop_column("dossier_sha256")
        batch.drop_column("warnings")
        batch.drop_column("disallowed")
        batch.drop_column("reference_date")
        batch.drop_column("uscc")
