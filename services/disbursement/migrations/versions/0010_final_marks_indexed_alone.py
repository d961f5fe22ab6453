"""The unique index of plan lines' final marks holds the marked lines only.

`final_project_id` is set on the lines of a final plan and NULL on every other line, so the unique constraint indexed
every line of every version (NULLs never collide) for nothing. Writing an edition's 100,000 lines took ~80 ms more
for it. A partial unique index keeps the rule (a project is allocated by one final plan) and answers the lookups by
final mark (an equality implies the mark is there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MARKED = "final_project_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("planitem") as batch:
        batch.drop_constraint("uq_planitem_final_project_id", type_="unique")
    op.create_index("uq_planitem_final_project_id", "planitem", ["final_project_id"], unique=True,
                    sqlite_where=sa.text(MARKED), postgresql_where=sa.text(MARKED))


def downgrade() -> None:
    op.drop_index("uq_planitem_final_project_id", table_name="planitem")
    with op.batch_alter_table("planitem") as batch:
        batch.create_unique_constraint("uq_planitem_final_project_id", ["final_project_id"])
