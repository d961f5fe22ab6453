"""The Alembic operations that create a service's audit tables (each service calls them from its own revision)."""
import sqlalchemy as sa
from alembic import op

from .audit import GENESIS_HASH


def create_audit_tables() -> None:
    """audit_event (the chain) and audit_head (its one-row head)."""
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(24), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("resource_type", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_resource", "audit_event", ["resource_type", "resource_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS_HASH}])


def drop_audit_tables() -> None:
    """Undo create_audit_tables."""
    op.drop_table("audit_head")
    op.drop_index("ix_audit_event_resource", table_name="audit_event")
    op.drop_table("audit_event")
