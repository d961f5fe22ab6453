"""Tables of the disbursement service."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.webhooks import WebhookDeliveryBase, WebhookEventBase, WebhookSubscriptionBase, WebhookTables
from common.db import NAMING_CONVENTION, UtcDateTime

SQLModel.metadata.naming_convention = NAMING_CONVENTION


class Project(SQLModel, table=True):
    """A district-passed application as the city handles it from audit to payment."""

    id: str = Field(primary_key=True, max_length=36)
    application_id: str = Field(unique=True, max_length=64)
    edition: str = Field(index=True, max_length=16)
    uscc: str = Field(index=True, max_length=18)
    unit_name: str = Field(max_length=200)
    district_code: str = Field(max_length=6)
    project_type: str = Field(max_length=32)
    computed_amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    status: str = Field(max_length=24)
    bank_account_name: str = Field(default="", max_length=200)
    bank_name: str = Field(default="", max_length=200)
    bank_account_number: str = Field(default="", max_length=40)
    auditor: str | None = Field(default=None, index=True, max_length=100)
    audit_opinion: str | None = Field(default=None, max_length=24)
    audited_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 2), nullable=True))
    audit_trace: list | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    audit_note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))

    __audit_mask__ = frozenset({"bank_account_number"})

    def plan_amount(self) -> Decimal:
        """What the plan starts from: the audited amount once there is one (N4.2), else the computed one."""
        return self.audited_amount if self.audited_amount is not None else self.computed_amount


class Plan(SQLModel, table=True):
    """One version of an edition's allocation plan (N4.3): draft → published → final, or superseded."""

    __table_args__ = (UniqueConstraint("edition", "version"),)

    id: str = Field(primary_key=True, max_length=36)
    edition: str = Field(max_length=16)
    version: int
    status: str = Field(max_length=12)
    budget: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    total: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    scaling_factor: str = Field(max_length=40)
    previous_id: str | None = Field(default=None, max_length=36)
    published_on: date | None = None
    notice_ends_on: date | None = None
    finalised_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class PlanItem(SQLModel, table=True):
    """A project's line in a plan version: computed, after the unit cap, after scaling to the fund."""

    __table_args__ = (UniqueConstraint("plan_id", "project_id"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    computed_amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    capped_amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    allocated_amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))


class Objection(SQLModel, table=True):
    """An objection filed against a project of a published plan (N4.4), and how the city resolved it."""

    id: str = Field(primary_key=True, max_length=36)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    filed_by: str = Field(max_length=100)
    statement: str = Field(max_length=2000)
    evidence: str | None = Field(default=None, max_length=500)
    filed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    status: str = Field(max_length=12)
    resolution: str | None = Field(default=None, max_length=2000)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    new_plan_id: str | None = Field(default=None, max_length=36)


class AuditEvent(AuditEventBase, table=True):
    """Disbursement's audit trail."""

    __tablename__ = "audit_event"


class AuditHead(AuditHeadBase, table=True):
    """Head of disbursement's audit chain."""

    __tablename__ = "audit_head"


class PaymentInstruction(SQLModel, table=True):
    """One payment order to the treasury (N4.5): finance → commerce bureau, or commerce bureau → a unit."""

    # one instruction per payee and attempt of a plan, whatever the number of concurrent requests
    __table_args__ = (UniqueConstraint("plan_id", "payee_key", "attempt"),)

    id: str = Field(primary_key=True, max_length=36)
    end_to_end_id: str = Field(unique=True, max_length=40)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    leg: str = Field(max_length=12)
    payee_key: str = Field(max_length=40)
    project_id: str | None = Field(default=None, max_length=36)
    payee_name: str = Field(max_length=200)
    payee_bank: str = Field(max_length=200)
    payee_account: str = Field(max_length=40)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    attempt: int = Field(default=1)
    retry_of: str | None = Field(default=None, max_length=36)
    status: str = Field(max_length=12)
    failure_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    settled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a money-moving request, replayed to any repeat with the same key."""

    __audit__ = False

    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Clawback(SQLModel, table=True):
    """Funds to recover after fraud or a duplicate application (N3.2, N3.3)."""

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    uscc: str = Field(max_length=18)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    recovered: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    reason: str = Field(max_length=1000)
    evidence: str = Field(max_length=1000)
    forged_materials: bool
    status: str = Field(max_length=24)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class SpotCheck(SQLModel, table=True):
    """A reproducible random sample of audited projects for the city's spot check (N4.3)."""

    id: str = Field(primary_key=True, max_length=36)
    edition: str = Field(max_length=16)
    size: int
    seed: int
    project_ids: list = Field(sa_column=Column(JSON, nullable=False))
    drawn_by: str = Field(max_length=100)
    drawn_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ExpertScore(SQLModel, table=True):
    """An expert's scores of a project by criterion (N4.2, optional review)."""

    __table_args__ = (UniqueConstraint("project_id", "expert"),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", max_length=36)
    expert: str = Field(max_length=100)
    scores: dict = Field(sa_column=Column(JSON, nullable=False))
    scored_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class WebhookSubscription(WebhookSubscriptionBase, table=True):
    """An integration system's subscription to disbursement's events."""

    __tablename__ = "webhook_subscription"


class WebhookEvent(WebhookEventBase, table=True):
    """An event disbursement announced."""

    __tablename__ = "webhook_event"


class WebhookDelivery(WebhookDeliveryBase, table=True):
    """One event's delivery to one subscriber."""

    __tablename__ = "webhook_delivery"


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
