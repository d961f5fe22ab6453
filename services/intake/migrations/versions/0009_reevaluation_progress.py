"""A re-evaluation's progress is kept on its row.

Its progress was counted from its outbox messages on every poll: ~12 ms of PostgreSQL at 10,000 applications, growing
with the edition, and a client polling every 100 ms took a share of the re-evaluation's own database. The
transactions that move a message out of `pending` now count it on its re-evaluation (`done`, `superseded`); the
messages waiting for another attempt are found through a partial index, being few. The counts of the re-evaluations
made before are taken here from their messages.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RETRYING = "status = 'pending' AND attempts > 0"
COUNTS = ("done", "superseded")


def upgrade() -> None:
    with op.batch_alter_table("reevaluation") as batch:
        for count in COUNTS:
            batch.add_column(sa.Column(count, sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_outboxmessage_retrying", "outboxmessage", ["reevaluation_id"],
                    sqlite_where=sa.text(RETRYING), postgresql_where=sa.text(RETRYING))
    reevaluations = sa.table("reevaluation", sa.column("id", sa.String(36)),
                             *(sa.column(count, sa.Integer()) for count in COUNTS))
    messages = sa.table("outboxmessage", sa.column("reevaluation_id", sa.String(36)),
                        sa.column("status", sa.String(12)))
    op.get_bind().execute(sa.update(reevaluations).values({
        count: sa.select(sa.func.count()).where(messages.c.reevaluation_id == reevaluations.c.id,
                                                messages.c.status == count).scalar_subquery()
        for count in COUNTS}))


def downgrade() -> None:
    op.drop_index("ix_outboxmessage_retrying", "outboxmessage")
    with op.batch_alter_table("reevaluation") as batch:
        for count in reversed(COUNTS):
            batch.drop_column(count)
