"""An application's answers keep their digest beside them.

The audit trail records a change of an application's evaluation or computation by a digest, the answer it replaces
included. Re-evaluating an edition (N3.2, a parameter corrected) read every old answer back and serialised it again,
twice (canonical JSON, sorted keys) to name what was replaced and what replaced it: ~0.35 ms of intake's CPU per
application, nearly half its share. The outbox now serialises each answer once, stores that text and keeps its
digest beside it: `sha256:` of the answer's JSON as stored (common.audit.text_digest), which anyone can check against
the column. The answers stored before are digested here the same way, a thousand applications at a time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from common.audit import text_digest

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
    stored = [sa.cast(applications.c[answer], sa.Text) for answer in ANSWERS]  # the JSON text, as written
    keep = (sa.update(applications).where(applications.c.id == sa.bindparam("a_id"))
            .values({f"{answer}_digest": sa.bindparam(f"{answer}_digest") for answer in ANSWERS}))
    bind, last = op.get_bind(), ""
    while rows := bind.execute(sa.select(applications.c.id, *stored).where(applications.c.id > last)
                               .order_by(applications.c.id).limit(BATCH)).all():
        # an application never answered holds NULL or a JSON null: no digest, as the trail records it
        digests = [{"a_id": row[0], **{f"{answer}_digest": None if text in (None, "null") else text_digest(text)
                                       for answer, text in zip(ANSWERS, row[1:])}}
                   for row in rows if any(text not in (None, "null") for text in row[1:])]
        if digests:
            bind.execute(keep, digests)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        for answer in reversed(ANSWERS):
            batch.drop_column(f"{answer}_digest")
