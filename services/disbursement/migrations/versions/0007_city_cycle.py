"""The city's cycle made safe: audit details, recorded spot-check findings, expert conflicts, plan versions with
one open version per edition and a project in one final plan only, objections' effects, live-payment and retry
uniqueness, bank statements, per-caller idempotency keys, clawback grounds and recoveries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from common.db import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN_PLAN = "status IN ('draft', 'published')"
LIVE_PAYMENT = "status IN ('pending', 'paid')"
EMPTY_LIST = "[]"


def upgrade() -> None:
    # project and plan are referenced by other tables: SQLite cannot add a CHECK without rebuilding them, which its
    # foreign keys refuse once there is data, so those checks exist where they can be added in place (PostgreSQL)
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("project") as batch:
        batch.add_column(sa.Column("eligibility_outcome", sa.String(16), nullable=True))
        batch.add_column(sa.Column("removed_reason", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("adjusted_amount", sa.Numeric(18, 2), nullable=True))
        batch.add_column(sa.Column("auditor_assigned_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("auditor_assigned_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("audit_disallowed", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("audited_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("audited_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("spot_check_outcome", sa.String(12), nullable=True))
    if not sqlite:
        op.create_check_constraint("ck_project_status", "project", "status IN ('active', 'removed')")
        op.create_check_constraint(
            "ck_project_audit_opinion", "project",
            "audit_opinion IS NULL OR audit_opinion IN ('pass', 'pass_with_adjustments', 'fail')")
        op.create_check_constraint(
            "ck_project_spot_check_outcome", "project",
            "spot_check_outcome IS NULL OR spot_check_outcome IN ('confirmed', 'adjusted', 'failed')")

    # earlier versions let several drafts of an edition stay open: all but the latest become superseded
    op.execute("UPDATE plan SET status = 'superseded' WHERE status IN ('draft', 'published') AND version < "
               "(SELECT MAX(p2.version) FROM plan p2 WHERE p2.edition = plan.edition "
               "AND p2.status IN ('draft', 'published'))")
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("type_budgets", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("unit_caps_trace", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("scaling_trace", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("left_out", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("superseded_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("notice_working_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("finalised_by", sa.String(100), nullable=True))
    if not sqlite:
        op.create_check_constraint("ck_plan_status", "plan", "status IN ('draft', 'published', 'final', 'superseded')")
    op.create_index("uq_plan_open_edition", "plan", ["edition"], unique=True,
                    sqlite_where=sa.text(OPEN_PLAN), postgresql_where=sa.text(OPEN_PLAN))

    with op.batch_alter_table("planitem") as batch:
        batch.add_column(sa.Column("basis", sa.String(16), nullable=False, server_default="audit"))
        batch.add_column(sa.Column("final_project_id", sa.String(36), nullable=True))
        batch.create_unique_constraint("uq_planitem_final_project_id", ["final_project_id"])
    op.execute("UPDATE planitem SET final_project_id = project_id WHERE id IN (SELECT MAX(pi.id) FROM planitem pi "
               "JOIN plan p ON p.id = pi.plan_id WHERE p.status = 'final' GROUP BY pi.project_id)")

    with op.batch_alter_table("objection") as batch:
        batch.add_column(sa.Column("filed_by_role", sa.String(24), nullable=False, server_default=""))
        batch.add_column(sa.Column("filed_by_unit", sa.String(18), nullable=True))
        batch.add_column(sa.Column("effect", sa.String(16), nullable=True))
        batch.add_column(sa.Column("new_amount", sa.Numeric(18, 2), nullable=True))
        batch.create_check_constraint("ck_objection_status", "status IN ('open', 'upheld', 'dismissed')")
        batch.create_check_constraint("ck_objection_effect", "effect IS NULL OR effect IN ('remove', 'change_amount')")
    op.create_index("ix_objection_project_id", "objection", ["project_id"])

    with op.batch_alter_table("paymentinstruction") as batch:
        batch.add_column(sa.Column("statement_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(100), nullable=False, server_default=""))
        batch.create_unique_constraint("uq_paymentinstruction_retry_of", ["retry_of"])
        batch.create_check_constraint("ck_paymentinstruction_amount_positive", "amount > 0")
        batch.create_check_constraint("ck_paymentinstruction_leg", "leg IN ('treasury', 'unit')")
        batch.create_check_constraint("ck_paymentinstruction_status",
                                      "status IN ('pending', 'paid', 'failed', 'returned')")
    op.create_index("uq_paymentinstruction_live", "paymentinstruction", ["plan_id", "payee_key"], unique=True,
                    sqlite_where=sa.text(LIVE_PAYMENT), postgresql_where=sa.text(LIVE_PAYMENT))

    op.create_table(
        "bankstatement",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("received_by", sa.String(100), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bankstatement"),
    )
    op.create_index("ix_bankstatement_sha256", "bankstatement", ["sha256"])

    # stored answers are a replay cache: the per-caller table replaces the global one
    op.drop_table("idempotencyrecord")
    op.create_table(
        "idempotencyrecord",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idempotencyrecord"),
        sa.UniqueConstraint("actor", "key", name="uq_idempotencyrecord_actor_key"),
    )

    with op.batch_alter_table("clawback") as batch:
        batch.add_column(sa.Column("ground", sa.String(24), nullable=False, server_default="fraud"))
        batch.add_column(sa.Column("debarment_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("debarred_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("referral_note", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("referred_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("demanded_by", sa.String(100), nullable=False, server_default=""))
    op.execute("UPDATE clawback SET ground = 'forged_materials' WHERE forged_materials")
    with op.batch_alter_table("clawback") as batch:
        batch.drop_column("forged_materials")
        batch.create_check_constraint("ck_clawback_status",
                                      "status IN ('demanded', 'partly_recovered', 'recovered', 'referred')")
        batch.create_check_constraint(
            "ck_clawback_ground", "ground IN ('forged_materials', 'false_invoices', 'duplicate_application', 'fraud')")
        batch.create_check_constraint("ck_clawback_amount_positive", "amount > 0")
        batch.create_check_constraint("ck_clawback_recovered_within_amount", "recovered >= 0 AND recovered <= amount")
    op.create_index("ix_clawback_project_id", "clawback", ["project_id"])
    op.create_index("ix_clawback_uscc", "clawback", ["uscc"])
    op.create_table(
        "clawbackrecovery",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("clawback_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clawbackrecovery"),
        sa.ForeignKeyConstraint(["clawback_id"], ["clawback.id"], name="fk_clawbackrecovery_clawback_id_clawback"),
        sa.CheckConstraint("amount > 0", name="ck_clawbackrecovery_amount_positive"),
    )
    op.create_index("ix_clawbackrecovery_clawback_id", "clawbackrecovery", ["clawback_id"])

    with op.batch_alter_table("spotcheck") as batch:
        batch.add_column(sa.Column("method", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("population", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
    op.create_table(
        "spotcheckfinding",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("spot_check_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("finding", sa.String(2000), nullable=False),
        sa.Column("disallowed", sa.JSON(), nullable=False),
        sa.Column("amount_before", sa.Numeric(18, 2), nullable=True),
        sa.Column("amount_after", sa.Numeric(18, 2), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spotcheckfinding"),
        sa.ForeignKeyConstraint(["spot_check_id"], ["spotcheck.id"], name="fk_spotcheckfinding_spot_check_id_spotcheck"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name="fk_spotcheckfinding_project_id_project"),
        sa.UniqueConstraint("spot_check_id", "project_id", name="uq_spotcheckfinding_spot_check_id_project_id"),
        sa.CheckConstraint("outcome IN ('confirmed', 'adjusted', 'failed')", name="ck_spotcheckfinding_outcome"),
    )
    op.create_index("ix_spotcheckfinding_spot_check_id", "spotcheckfinding", ["spot_check_id"])

    with op.batch_alter_table("expertscore") as batch:
        batch.add_column(sa.Column("conflict_of_interest", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("conflict_statement", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("comment", sa.String(2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("expertscore") as batch:
        for column in ("comment", "conflict_statement", "conflict_of_interest"):
            batch.drop_column(column)
    op.drop_index("ix_spotcheckfinding_spot_check_id", table_name="spotcheckfinding")
    op.drop_table("spotcheckfinding")
    with op.batch_alter_table("spotcheck") as batch:
        batch.drop_column("population")
        batch.drop_column("method")
    op.drop_index("ix_clawbackrecovery_clawback_id", table_name="clawbackrecovery")
    op.drop_table("clawbackrecovery")
    op.drop_index("ix_clawback_uscc", table_name="clawback")
    op.drop_index("ix_clawback_project_id", table_name="clawback")
    with op.batch_alter_table("clawback") as batch:
        for name in ("recovered_within_amount", "amount_positive", "ground", "status"):
            batch.drop_constraint(f"ck_clawback_{name}", type_="check")
        batch.add_column(sa.Column("forged_materials", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE clawback SET forged_materials = (ground IN ('forged_materials', 'false_invoices'))")
    with op.batch_alter_table("clawback") as batch:
        for column in ("demanded_by", "referred_at", "referral_note", "debarred_until", "debarment_id", "ground"):
            batch.drop_column(column)
    op.drop_table("idempotencyrecord")
    op.create_table(
        "idempotencyrecord",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotencyrecord"),
    )
    op.drop_index("ix_bankstatement_sha256", table_name="bankstatement")
    op.drop_table("bankstatement")
    op.drop_index("uq_paymentinstruction_live", table_name="paymentinstruction")
    with op.batch_alter_table("paymentinstruction") as batch:
        for name in ("status", "leg", "amount_positive"):
            batch.drop_constraint(f"ck_paymentinstruction_{name}", type_="check")
        batch.drop_constraint("uq_paymentinstruction_retry_of", type_="unique")
        batch.drop_column("created_by")
        batch.drop_column("statement_id")
    op.drop_index("ix_objection_project_id", table_name="objection")
    with op.batch_alter_table("objection") as batch:
        batch.drop_constraint("ck_objection_effect", type_="check")
        batch.drop_constraint("ck_objection_status", type_="check")
        for column in ("new_amount", "effect", "filed_by_unit", "filed_by_role"):
            batch.drop_column(column)
    with op.batch_alter_table("planitem") as batch:
        batch.drop_constraint("uq_planitem_final_project_id", type_="unique")
        batch.drop_column("final_project_id")
        batch.drop_column("basis")
    op.drop_index("uq_plan_open_edition", table_name="plan")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint("ck_plan_status", "plan", type_="check")
    with op.batch_alter_table("plan") as batch:
        for column in ("finalised_by", "published_by", "notice_working_days", "superseded_by", "left_out",
                       "scaling_trace", "unit_caps_trace", "type_budgets"):
            batch.drop_column(column)
    if not sqlite:
        for name in ("spot_check_outcome", "audit_opinion", "status"):
            op.drop_constraint(f"ck_project_{name}", "project", type_="check")
    with op.batch_alter_table("project") as batch:
        for column in ("spot_check_outcome", "audited_at", "audited_by", "audit_disallowed", "auditor_assigned_at",
                       "auditor_assigned_by", "adjusted_amount", "removed_reason", "eligibility_outcome"):
            batch.drop_column(column)
