"""Application rows leave half of each PostgreSQL page free.

An application is updated several times (its evaluation and computation stored, again at every re-evaluation; its
status moved by the reviews). A full page has no room for the new version of a row, so PostgreSQL wrote it on
another page and added an entry for it to every one of the table's eight indexes; with room on the same page the
update is a heap-only tuple (HOT) and touches no index. Re-evaluating 10,000 applications: every update HOT instead of
none, the UPDATE's time in PostgreSQL 2.6 → 1.3 s. Rows already stored keep their pages; each moves to one with room
at its next update, and VACUUM FULL (a maintenance window: it locks the table) repacks them all at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite has no such setting: it rewrites a page on update
        op.execute("ALTER TABLE application SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE application RESET (fillfactor)")
