"""Policy engine: every evaluation kept with its unit, reference date and dossier digest; registries named by their
natural keys (so that a re-import updates instead of duplicating); invoice numbers compared by a normalised key;
recognised bases remember an earlier edition's construction support (G5.1.3).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(sa.Column("uscc", sa.String(40), nullable=True))
        batch.add_column(sa.Column("reference_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("submitted_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("dossier_sha256", sa.String(64), nullable=True))
    op.create_index("ix_evaluation_uscc", "evaluation", ["uscc"])

    # a registry entry imported twice was stored twice: keep one of each before the keys become unique
    op.execute("DELETE FROM creditentry WHERE id NOT IN "
               "(SELECT MIN(id) FROM creditentry GROUP BY uscc, kind, source, listed_on)")
    op.execute("DELETE FROM debarment WHERE id NOT IN "
               "(SELECT MIN(id) FROM debarment GROUP BY uscc, source, starts_on)")
    with op.batch_alter_table("creditentry") as batch:
        batch.create_unique_constraint("uq_creditentry_uscc_kind_source_listed_on",
                                       ["uscc", "kind", "source", "listed_on"])
    with op.batch_alter_table("debarment") as batch:
        batch.create_unique_constraint("uq_debarment_uscc_source_starts_on", ["uscc", "source", "starts_on"])
    with op.batch_alter_table("recognisedbase") as batch:
        batch.add_column(sa.Column("construction_supported_in", sa.String(16), nullable=True))

    with op.batch_alter_table("claimedinvoice") as batch:
        batch.add_column(sa.Column("invoice_key", sa.String(40), nullable=True))
        batch.add_column(sa.Column("project_type", sa.String(32), nullable=True))
    op.execute("UPDATE claimedinvoice SET invoice_key = UPPER(REPLACE(invoice_number, ' ', ''))")
    with op.batch_alter_table("claimedinvoice") as batch:
        batch.alter_column("invoice_key", existing_type=sa.String(40), nullable=False)
    op.drop_index("ix_claimedinvoice_invoice_number", table_name="claimedinvoice")  # claims compare by invoice_key
    op.create_index("ix_claimedinvoice_edition_invoice_key", "claimedinvoice", ["edition", "invoice_key"])
    op.create_index("ix_claimedinvoice_uscc", "claimedinvoice", ["uscc"])


def downgrade() -> None:
    op.drop_index("ix_claimedinvoice_uscc", table_name="claimedinvoice")
    op.drop_index("ix_claimedinvoice_edition_invoice_key", table_name="claimedinvoice")
    op.create_index("ix_claimedinvoice_invoice_number", "claimedinvoice", ["edition", "invoice_number"])
    with op.batch_alter_table("claimedinvoice") as batch:
        batch.drop_column("project_type")
        batch.drop_column("invoice_key")
    with op.batch_alter_table("recognisedbase") as batch:
        batch.drop_column("construction_supported_in")
    with op.batch_alter_table("debarment") as batch:
        batch.drop_constraint("uq_debarment_uscc_source_starts_on", type_="unique")
    with op.batch_alter_table("creditentry") as batch:
        batch.drop_constraint("uq_creditentry_uscc_kind_source_listed_on", type_="unique")
    op.drop_index("ix_evaluation_uscc", table_name="evaluation")
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("dossier_sha256")
        batch.drop_column("submitted_at")
        batch.drop_column("reference_date")
        batch.drop_column("uscc")
