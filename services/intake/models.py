"""Tables of the intake service."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Column, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.jobs import JobBase, JobPartBase
from common.webhooks import WebhookDeliveryBase, WebhookEventBase, WebhookSubscriptionBase, WebhookTables
from common.db import UtcDateTime, table_registry

class IntakeTable(SQLModel, registry=table_registry()):
    """Base of the intake tables: a metadata of their own, apart from every other service's."""


class Applicant(IntakeTable, table=True):
    """An applicant unit (申报单位), identified by its USCC."""

    __audit_mask__ = frozenset({"bank_account_number"})

    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(unique=True, max_length=18)
    name: str = Field(max_length=200)
    legal_representative: str = Field(max_length=100)
    district_code: str = Field(index=True, max_length=6)
    uscc_division_code: str = Field(max_length=6)
    registered_capital: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    contact_name: str = Field(max_length=50)
    contact_phone: str = Field(max_length=30)
    bank_account_name: str = Field(max_length=200)
    bank_name: str = Field(max_length=200)
    bank_account_number: str = Field(max_length=40)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


APPLICATION_FILLFACTOR = 50  # per cent of a PostgreSQL page filled by new rows


class Application(IntakeTable, table=True):
    """One project application of a unit for an edition, with its forms and lifecycle."""

    # the listing filters: status, type and edition, newest first; an edition's applications in one status newest
    # first (the most asked page) and everything newest first (also the walk a district's listing joins from) are
    # read in index order, not sorted from every matching row; a district's count walks its units' applications in
    # the index alone
    __table_args__ = (Index("ix_application_listing", "edition", "status", "project_type", "created_at"),
                      Index("ix_application_edition_status_created", "edition", "status", "created_at"),
                      Index("ix_application_created_at", "created_at"),
                      Index("ix_application_unit_listing", "applicant_id", "edition", "status"),
                      # half of each page left free (migration 0010): an application's next version fits beside it,
                      # so updating it (its evaluation stored, its status moved) writes no entry in its eight indexes
                      {"postgresql_with": {"fillfactor": APPLICATION_FILLFACTOR}})
    # the forms hold trainees' national ID numbers, which most readers of the audit trail may not see; their history
    # (who changed them, when) is the version table, read through the API's masking
    __audit_mask__ = frozenset({"content"})
    # the answers are kept whole by eligibility and calculation (GET /evaluations, /computations): the trail records
    # that they changed, by their digest
    __audit_digest__ = frozenset({"evaluation", "computation"})

    id: str = Field(primary_key=True, max_length=36)
    applicant_id: str = Field(foreign_key="applicant.id", index=True, max_length=36)
    edition: str = Field(max_length=16)
    project_type: str = Field(max_length=32)
    # set only for the project types the notice allows once per unit and edition; the unique constraint holds it
    single_project_key: str | None = Field(default=None, max_length=80, unique=True)
    status: str = Field(max_length=24, index=True)
    content: dict = Field(sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    evaluation_status: str = Field(default="not_requested", max_length=20)
    evaluation_attempts: int = Field(default=0)
    evaluation_error: str | None = Field(default=None, max_length=500)
    evaluation: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    computation: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # their digest (common.audit.text_digest of the JSON as stored), kept with them by the outbox, their only writer
    # (migration 0008): the trail's record of what an answer replaced, without reading and serialising it again
    evaluation_digest: str | None = Field(default=None, max_length=71)
    computation_digest: str | None = Field(default=None, max_length=71)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class ApplicationVersion(IntakeTable, table=True):
    """A kept version of an application's content: who changed it, when."""

    __table_args__ = (UniqueConstraint("application_id", "version"),)
    __audit__ = False  # the version table is itself the history

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="application.id", max_length=36)
    version: int
    content: dict = Field(sa_column=Column(JSON, nullable=False))
    changed_by: str = Field(max_length=100)
    changed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Document(IntakeTable, table=True):
    """An evidence document of an application, stored in the object store."""

    id: str = Field(primary_key=True, max_length=36)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    kind: str = Field(max_length=40)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=60)
    size: int = Field(sa_column=Column(BigInteger(), nullable=False))
    sha256: str = Field(max_length=64)
    object_key: str = Field(max_length=200)
    uploaded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Reevaluation(IntakeTable, table=True):
    """An edition's applications in play evaluated and priced again (a parameter or a registry was corrected)."""

    id: str = Field(primary_key=True, max_length=36)
    edition: str = Field(max_length=16, index=True)
    reason: str = Field(max_length=500)
    total: int = Field(description="Applications queued")
    # how many of its messages have left `pending`, counted by the transactions that move them (the outbox storing
    # answers, a resubmission or a later re-evaluation superseding them): its progress is read from one row, however
    # many applications it queued (counting its messages on every poll cost ~12 ms of PostgreSQL at 10,000)
    done: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    superseded: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    requested_by: str = Field(max_length=100)
    requested_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


RETRYING = "status = 'pending' AND attempts > 0"  # a message tried, and to be tried again


class OutboxMessage(IntakeTable, table=True):
    """Durable work: ask eligibility and calculation about a submitted application until they answer."""

    __audit__ = False
    # what the workers poll; the messages waiting for another attempt, counted by a re-evaluation's progress (a
    # partial index: they are few, and a query names the same predicate to use it)
    __table_args__ = (Index("ix_outboxmessage_due", "status", "next_attempt_at"),
                      Index("ix_outboxmessage_retrying", "reevaluation_id", sqlite_where=text(RETRYING),
                            postgresql_where=text(RETRYING)))

    id: str = Field(primary_key=True, max_length=36)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    # set when the message was queued by re-evaluating an edition (its progress is counted from these)
    reevaluation_id: str | None = Field(default=None, foreign_key="reevaluation.id", index=True, max_length=36)
    status: str = Field(default="pending", max_length=12)  # pending, done, superseded
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class AuditEvent(IntakeTable, AuditEventBase, table=True):
    """Intake's audit trail."""


class AuditHead(IntakeTable, AuditHeadBase, table=True):
    """Head of intake's audit chain."""


class WebhookSubscription(IntakeTable, WebhookSubscriptionBase, table=True):
    """An integration system's subscription to intake's events."""


class WebhookEvent(IntakeTable, WebhookEventBase, table=True):
    """An event intake announced."""


class WebhookDelivery(IntakeTable, WebhookDeliveryBase, table=True):
    """One event's delivery to one subscriber."""


EVENT_TYPES = {
    "application.submitted": "An application was submitted to its district",
    "application.returned": "The district returned an application for correction",
    "application.passed": "The district passed an application (初审通过)",
    "application.rejected": "The district rejected an application",
    "evaluation.ready": "Eligibility and calculation answered for a submitted application",
}
WEBHOOKS = WebhookTables(WebhookSubscription, WebhookEvent, WebhookDelivery, EVENT_TYPES)


class ReviewRecord(IntakeTable, table=True):
    """A district officer's recorded decision on an application: who, when, why (N4.1)."""

    id: str = Field(primary_key=True, max_length=36)
    application_id: str = Field(foreign_key="application.id", index=True, max_length=36)
    decision: str = Field(max_length=12)
    reason: str = Field(max_length=1000)
    decided_by: str = Field(max_length=100)
    decided_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class DistrictSubmission(IntakeTable, table=True):
    """A district's sending of its passed projects to the city, stamped (N4.1)."""

    __table_args__ = (UniqueConstraint("district_code", "edition"),)

    id: str = Field(primary_key=True, max_length=36)
    district_code: str = Field(max_length=6)
    edition: str = Field(max_length=16)
    project_count: int
    submitted_by: str = Field(max_length=100)
    submitted_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Job(IntakeTable, JobBase, table=True):
    """Intake's jobs: summary tables made in the background (common/jobs.py)."""


class JobPart(IntakeTable, JobPartBase, table=True):
    """A part of a job's result file."""

