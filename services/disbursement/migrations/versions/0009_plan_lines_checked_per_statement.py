"""A plan's lines checked against their plan and projects once per statement on PostgreSQL, not once per line.

The two foreign keys of `planitem` made PostgreSQL look up and lock the plan and the project of every line in a
trigger of its own: 100,000 lines (an edition's plan, N4.3) spent ~0.7 s there, half the time of writing them. On
PostgreSQL they are replaced by statement triggers that check every line a statement wrote in one join, and by
triggers that refuse to delete (or re-key) a plan or a project a line refers to, the other half of what a foreign
key guarantees. SQLite keeps its foreign keys. The plan_id index goes on both: the unique (plan_id, project_id)
index already leads with it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {"fk_planitem_plan_id_plan": ("plan_id", "plan"),
                "fk_planitem_project_id_project": ("project_id", "project")}

LINES_REFER_TO_ROWS = """
CREATE FUNCTION planitem_references_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text := coalesce(
        (SELECT 'project ' || l.project_id FROM planitem_written l LEFT JOIN project p ON p.id = l.project_id
          WHERE p.id IS NULL LIMIT 1),
        (SELECT 'plan ' || l.plan_id FROM planitem_written l LEFT JOIN plan p ON p.id = l.plan_id
          WHERE p.id IS NULL LIMIT 1));
BEGIN
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'a plan line refers to %, which does not exist', missing
              USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'planitem_references_exist';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER planitem_references_on_insert AFTER INSERT ON planitem
    REFERENCING NEW TABLE AS planitem_written FOR EACH STATEMENT EXECUTE FUNCTION planitem_references_exist();
CREATE TRIGGER planitem_references_on_update AFTER UPDATE ON planitem
    REFERENCING NEW TABLE AS planitem_written FOR EACH STATEMENT EXECUTE FUNCTION planitem_references_exist();

CREATE FUNCTION planitem_referenced_row_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM planitem WHERE (CASE TG_TABLE_NAME WHEN 'plan' THEN plan_id ELSE project_id END) = OLD.id)
    THEN
        RAISE EXCEPTION '% % is referred to by plan lines', TG_TABLE_NAME, OLD.id
              USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'planitem_' || TG_TABLE_NAME || '_exists';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER planitem_plan_kept BEFORE DELETE OR UPDATE OF id ON plan
    FOR EACH ROW EXECUTE FUNCTION planitem_referenced_row_kept();
CREATE TRIGGER planitem_project_kept BEFORE DELETE OR UPDATE OF id ON project
    FOR EACH ROW EXECUTE FUNCTION planitem_referenced_row_kept();
"""

DROP_TRIGGERS = """
DROP TRIGGER planitem_project_kept ON project;
DROP TRIGGER planitem_plan_kept ON plan;
DROP FUNCTION planitem_referenced_row_kept();
DROP TRIGGER planitem_references_on_update ON planitem;
DROP TRIGGER planitem_references_on_insert ON planitem;
DROP FUNCTION planitem_references_exist();
"""


def upgrade() -> None:
    op.drop_index("ix_planitem_plan_id", table_name="planitem")
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FOREIGN_KEYS:
        op.drop_constraint(name, "planitem", type_="foreignkey")
    op.execute(LINES_REFER_TO_ROWS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_TRIGGERS)
        for name, (column, table) in FOREIGN_KEYS.items():
            op.create_foreign_key(name, "planitem", table, [column], ["id"])
    op.create_index("ix_planitem_plan_id", "planitem", ["plan_id"])
