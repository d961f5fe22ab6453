"""Tables of the disbursement service.

Guarantees that money is never paid twice live here as constraints, not only as checks in code: one open
(draft or published) plan version per edition, a project in at most one final plan, one instruction per
payee and attempt, at most one live (pending or paid) instruction per payee of a plan, one retry per failed
instruction, recoveries never above the amount demanded.
"""
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.db import UtcDateTime, table_registry
from common.jobs import JobBase, JobPartBase
from common.webhooks import WebhookDeliveryBase, WebhookEventBase, WebhookSubscriptionBase, WebhookTables

class DisbursementTable(SQLModel, registry=table_registry()):
    """Base of the disbursement tables: a metadata of their own, apart from every other service's."""

OPEN_PLAN = "status IN ('draft', 'published')"
LIVE_PAYMENT = "status IN ('pending', 'paid')"
FINAL_MARK = "final_project_id IS NOT NULL"


def _money(nullable: bool = False) -> Column:
    return Column(Numeric(18, 2), nullable=nullable)


class Project(DisbursementTable, table=True):
    """A district-passed application as the city handles it from audit to payment (N4.2–N4.5)."""

    __table_args__ = (
        CheckConstraint("status IN ('active', 'removed')", name="status"),
        CheckConstraint("audit_opinion IS NULL OR audit_opinion IN ('pass', 'pass_with_adjustments', 'fail')",
                        name="audit_opinion"),
        CheckConstraint("spot_check_outcome IS NULL OR spot_check_outcome IN ('confirmed', 'adjusted', 'failed')",
                        name="spot_check_outcome"),
    )
    __audit_mask__ = frozenset({"bank_account_number"})

    id: str = Field(primary_key=True, max_length=36)
    application_id: str = Field(unique=True, max_length=64)
    edition: str = Field(index=True, max_length=16)
    uscc: str = Field(index=True, max_length=18)
    unit_name: str = Field(max_length=200)
    district_code: str = Field(max_length=6)
    project_type: str = Field(max_length=32)
    computed_amount: Decimal = Field(sa_column=_money())
    eligibility_outcome: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=24)
    removed_reason: str | None = Field(default=None, max_length=2000)
    adjusted_amount: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    bank_account_name: str = Field(default="", max_length=200)
    bank_name: str = Field(default="", max_length=200)
    bank_account_number: str = Field(default="", max_length=40)
    auditor: str | None = Field(default=None, index=True, max_length=100)
    auditor_assigned_by: str | None = Field(default=None, max_length=100)
    auditor_assigned_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    audit_opinion: str | None = Field(default=None, max_length=24)
    audit_disallowed: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    audited_amount: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    audit_trace: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    audit_note: str | None = Field(default=None, max_length=2000)
    audited_by: str | None = Field(default=None, max_length=100)
    audited_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    spot_check_outcome: str | None = Field(default=None, max_length=12)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))

    def standing(self) -> tuple[Decimal | None, str]:
        """(amount a new plan starts from, basis) or (None, why it stays out), N4.2–N4.4."""
        return standing_of(self.status, self.audit_opinion, self.spot_check_outcome, self.adjusted_amount,
                           self.audited_amount)


Amount = TypeVar("Amount", Decimal, str)


def standing_of(status: str, audit_opinion: str | None, spot_check_outcome: str | None,
                adjusted_amount: Amount | None, audited_amount: Amount | None) -> tuple[Amount | None, str]:
    """A project's standing from its columns (a plan judges 100,000 of them as rows, not loaded objects): the amount
    it stands for, as given (a Decimal, or a plan's two-place text), and its basis or why it is left out."""
    if status == "removed":
        return None, "removed after an upheld objection (N4.4)"
    if audit_opinion is None:
        return None, "awaiting the third-party audit (N4.2)"
    if audit_opinion == "fail":
        return None, "the third-party audit failed it (N4.2)"
    if spot_check_outcome == "failed":
        return None, "failed the city's spot check (N4.3)"
    if adjusted_amount is not None:
        return adjusted_amount, "objection"
    return audited_amount, "spot_check" if spot_check_outcome == "adjusted" else "audit"


class Plan(DisbursementTable, table=True):
    """One version of an allocation plan (N4.3): draft → published → final, or superseded by a newer version."""

    # a version is never edited, so the row keeps its traces and left-out list whole; its audit event names their
    # SHA-256 (a plan of 100,000 projects carries thousands of trace steps)
    __audit_digest__ = frozenset({"unit_caps_trace", "scaling_trace", "left_out"})
    __table_args__ = (
        UniqueConstraint("edition", "version"),
        CheckConstraint("status IN ('draft', 'published', 'final', 'superseded')", name="status"),
        # one open version per edition: a new version supersedes the open one in the same transaction
        Index("uq_plan_open_edition", "edition", unique=True, sqlite_where=text(OPEN_PLAN),
              postgresql_where=text(OPEN_PLAN)),
    )

    id: str = Field(primary_key=True, max_length=36)
    edition: str = Field(max_length=16)
    version: int
    status: str = Field(max_length=12)
    budget: Decimal = Field(sa_column=_money())
    type_budgets: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    total: Decimal = Field(sa_column=_money())
    scaling_factor: str = Field(max_length=40)
    unit_caps_trace: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scaling_trace: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    left_out: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    previous_id: str | None = Field(default=None, max_length=36)
    superseded_by: str | None = Field(default=None, max_length=36)
    published_on: date | None = None
    notice_working_days: int | None = None
    notice_ends_on: date | None = None
    published_by: str | None = Field(default=None, max_length=100)
    finalised_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    finalised_by: str | None = Field(default=None, max_length=100)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class PlanItem(DisbursementTable, table=True):
    """A project's line in a plan version: its amount, after the unit cap, after scaling to the fund."""

    # keyed by (plan_id, project_id), whose index serves the lookups by plan (migration 0011: no surrogate id). On
    # PostgreSQL the two references are enforced by triggers once per statement, not by foreign keys that check every
    # line on its own (migration 0009: an edition's 100,000 lines); SQLite keeps the foreign keys
    # final_project_id is set on a final plan's lines only: its unique index holds those (migration 0010)
    __table_args__ = (Index("uq_planitem_final_project_id", "final_project_id", unique=True,
                            sqlite_where=text(FINAL_MARK), postgresql_where=text(FINAL_MARK)),
                      {"info": {"statement_checked_foreign_keys": (
                          "fk_planitem_plan_id_plan", "fk_planitem_project_id_project")}})

    plan_id: str = Field(foreign_key="plan.id", max_length=36, primary_key=True)
    project_id: str = Field(foreign_key="project.id", max_length=36, primary_key=True)
    basis: str = Field(default="audit", max_length=16)
    computed_amount: Decimal = Field(sa_column=_money())
    capped_amount: Decimal = Field(sa_column=_money())
    allocated_amount: Decimal = Field(sa_column=_money())
    # set when the plan becomes final: a project is allocated by one final plan only
    final_project_id: str | None = Field(default=None, max_length=36)


class Objection(DisbursementTable, table=True):
    """An objection filed against a project of a published plan (N4.4), and how the city resolved it."""

    __table_args__ = (
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),
        CheckConstraint("effect IS NULL OR effect IN ('remove', 'change_amount')", name="effect"),
    )

    id: str = Field(primary_key=True, max_length=36)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=36)
    filed_by: str = Field(max_length=100)
    filed_by_role: str = Field(default="", max_length=24)
    filed_by_unit: str | None = Field(default=None, max_length=18)
    statement: str = Field(max_length=2000)
    evidence: str | None = Field(default=None, max_length=500)
    filed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    status: str = Field(max_length=12)
    resolution: str | None = Field(default=None, max_length=2000)
    effect: str | None = Field(default=None, max_length=16)
    new_amount: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    new_plan_id: str | None = Field(default=None, max_length=36)


class AuditEvent(DisbursementTable, AuditEventBase, table=True):
    """Disbursement's audit trail."""


class AuditHead(DisbursementTable, AuditHeadBase, table=True):
    """Head of disbursement's audit chain."""


class PaymentInstruction(DisbursementTable, table=True):
    """One payment order to the treasury (N4.5): finance → commerce bureau, or commerce bureau → a unit."""

    __table_args__ = (
        # one instruction per payee and attempt of a plan, whatever the number of concurrent requests
        UniqueConstraint("plan_id", "payee_key", "attempt"),
        # a failed payment is retried once; the retry, if it fails, is retried in its turn
        UniqueConstraint("retry_of"),
        # never two live payments to one payee of a plan: nothing is paid twice
        Index("uq_paymentinstruction_live", "plan_id", "payee_key", unique=True, sqlite_where=text(LIVE_PAYMENT),
              postgresql_where=text(LIVE_PAYMENT)),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("leg IN ('treasury', 'unit')", name="leg"),
        CheckConstraint("status IN ('pending', 'paid', 'failed', 'returned')", name="status"),
    )

    id: str = Field(primary_key=True, max_length=36)
    end_to_end_id: str = Field(unique=True, max_length=40)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    leg: str = Field(max_length=12)
    payee_key: str = Field(max_length=40)
    project_id: str | None = Field(default=None, max_length=36)
    payee_name: str = Field(max_length=200)
    payee_bank: str = Field(max_length=200)
    payee_account: str = Field(max_length=40)
    amount: Decimal = Field(sa_column=_money())
    attempt: int = Field(default=1)
    retry_of: str | None = Field(default=None, max_length=36)
    status: str = Field(max_length=12)
    failure_reason: str | None = Field(default=None, max_length=500)
    statement_id: str | None = Field(default=None, max_length=36)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    settled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class BankStatement(DisbursementTable, table=True):
    """A bank statement file (CSV) whose lines recorded payment results (N4.5)."""

    id: str = Field(primary_key=True, max_length=36)
    sha256: str = Field(index=True, max_length=64)
    lines: int
    applied: int
    unchanged: int
    errors: list = Field(sa_column=Column(JSON, nullable=False))
    received_by: str = Field(max_length=100)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class IdempotencyRecord(DisbursementTable, table=True):
    """The first answer to a money-moving request, replayed to any repeat with the same key from the same caller."""

    __audit__ = False
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=100)
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    status_code: int
    response: dict | list = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Clawback(DisbursementTable, table=True):
    """Funds to recover after forged materials, a duplicate application or fraud (N3.2, N3.3)."""

    __table_args__ = (
        CheckConstraint("status IN ('demanded', 'partly_recovered', 'recovered', 'referred')", name="status"),
        CheckConstraint("ground IN ('forged_materials', 'false_invoices', 'duplicate_application', 'fraud')",
                        name="ground"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("recovered >= 0 AND recovered <= amount", name="recovered_within_amount"),
    )

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=36)
    uscc: str = Field(index=True, max_length=18)
    amount: Decimal = Field(sa_column=_money())
    recovered: Decimal = Field(sa_column=_money())
    ground: str = Field(max_length=24)
    reason: str = Field(max_length=1000)
    evidence: str = Field(max_length=1000)
    status: str = Field(max_length=24)
    debarment_id: str | None = Field(default=None, max_length=64)
    debarred_until: date | None = None
    referral_note: str | None = Field(default=None, max_length=2000)
    referred_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    demanded_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ClawbackRecovery(DisbursementTable, table=True):
    """Money received back against a clawback."""

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: str = Field(primary_key=True, max_length=36)
    clawback_id: str = Field(foreign_key="clawback.id", index=True, max_length=36)
    amount: Decimal = Field(sa_column=_money())
    received_on: date
    reference: str = Field(max_length=200)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class SpotCheck(DisbursementTable, table=True):
    """A reproducible random sample of audited projects for the city's spot check (N4.3)."""

    id: str = Field(primary_key=True, max_length=36)
    edition: str = Field(max_length=16)
    size: int
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    method: str = Field(default="", max_length=200)
    population: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    project_ids: list = Field(sa_column=Column(JSON, nullable=False))
    drawn_by: str = Field(max_length=100)
    drawn_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class SpotCheckFinding(DisbursementTable, table=True):
    """The city's finding on one sampled project; it may change the audited result (N4.3)."""

    __table_args__ = (
        UniqueConstraint("spot_check_id", "project_id"),
        CheckConstraint("outcome IN ('confirmed', 'adjusted', 'failed')", name="outcome"),
    )

    id: str = Field(primary_key=True, max_length=36)
    spot_check_id: str = Field(foreign_key="spotcheck.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    outcome: str = Field(max_length=12)
    finding: str = Field(max_length=2000)
    disallowed: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    amount_before: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    amount_after: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ExpertScore(DisbursementTable, table=True):
    """An expert's scores of a project by criterion, or the expert's declared conflict of interest (N4.2)."""

    __table_args__ = (UniqueConstraint("project_id", "expert"),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    expert: str = Field(max_length=100)
    conflict_of_interest: bool = Field(default=False)
    conflict_statement: str | None = Field(default=None, max_length=1000)
    scores: dict = Field(sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, max_length=2000)
    scored_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class WebhookSubscription(DisbursementTable, WebhookSubscriptionBase, table=True):
    """An integration system's subscription to disbursement's events."""


class WebhookEvent(DisbursementTable, WebhookEventBase, table=True):
    """An event disbursement announced."""


class WebhookDelivery(DisbursementTable, WebhookDeliveryBase, table=True):
    """One event's delivery to one subscriber."""


EVENT_TYPES = {
    "plan.published": "An allocation plan version was published for public notice",
    "plan.finalised": "An allocation plan became final",
    "objection.filed": "An objection was filed against a project of a published plan",
    "objection.resolved": "The city upheld or dismissed an objection",
    "payment.sent": "Payment instructions were created for a final plan (one event per instruction)",
    "payment.paid": "The treasury reported a payment paid",
    "payment.failed": "The treasury reported a payment failed or returned",
    "clawback.demanded": "Funds are demanded back from a unit",
}
WEBHOOKS = WebhookTables(WebhookSubscription, WebhookEvent, WebhookDelivery, EVENT_TYPES)


class Job(DisbursementTable, JobBase, table=True):
    """Disbursement's jobs: bank statements, plan exports (common/jobs.py)."""


class JobPart(DisbursementTable, JobPartBase, table=True):
    """Pieces of disbursement's job results."""
