"""An application's answers keep their digest beside them.

The audit trail records a change of an application's evaluation or computation by the SHA-256 of its canonical JSON
(common.audit.answer_digest), the answer it replaces included. Re-evaluating an edition (N3.2, a parameter corrected)
read every old answer back and serialised it again to name what was replaced: ~0.25 ms of intake's CPU per
application, a third of its share. The outbox now writes each answer's digest with it; the answers stored before are
digested here, a thousand applications at a time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from common.audit import answer_digest

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ANSWERS = ("evaluation", "computation")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        for answer in ANSWERS:
            batch.add_column(sa.Column(f"{answer}_digest", sa.String(71), nullable=True))
    applications = sa.table("application", sa.column("id", sa.String(36)),
                            *(sa.column(answer, sa.JSON()) for answer in ANSWERS),
                            *(sa.column(f"{answer}_digest", sa.String(71)) for answer in ANSWERS))
    keep = (sa.update(applications).where(applications.c.id == sa.bindparam("a_id"))
            .values({f"{answer}_digest": sa.bindparam(f"{answer}_digest") for answer in ANSWERS}))
    bind, last = op.get_bind(), ""
    while rows := bind.execute(sa.select(applications.c.id, *(applications.c[answer] for answer in ANSWERS))
                               .where(applications.c.id > last).order_by(applications.c.id).limit(BATCH)).all():
        # an application never answered holds NULL or a JSON null: no digest, as the trail records it
        digests = [{"a_id": row.id, **{f"{answer}_digest": None if row[1 + index] is None
                                       else answer_digest(row[1 + index]) for index, answer in enumerate(ANSWERS)}}
                   for row in rows if any(value is not None for value in row[1:])]
        if digests:
            bind.execute(keep, digests)
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        for answer in reversed(ANSWERS):
            batch.drop_column(f"{answer}_digest")
