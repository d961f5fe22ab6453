"""A unit's claimed projects of one type found by the unit first: the lookup asks about every edition, so an index
led by the edition made each evaluation scan every claim (10,000 re-evaluated applications: most of their time).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_claimedproject_unit_type", "claimedproject")
    op.create_index("ix_claimedproject_unit_type", "claimedproject", ["uscc", "project_type", "edition"])


def downgrade() -> None:
    op.drop_index("ix_claimedproject_unit_type", "claimedproject")
    op.create_index("ix_claimedproject_unit_type", "claimedproject", ["edition", "uscc", "project_type"])
