"""Tables of the disbursement service."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
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
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


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
