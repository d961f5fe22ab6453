"""Tables of the eligibility service: evaluations and the registries the rules consult."""
from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.db import UtcDateTime, table_registry
from common.jobs import JobBase, JobPartBase

class EligibilityTable(SQLModel, registry=table_registry()):
    """Base of the eligibility tables: a metadata of their own, apart from every other service's."""


class Evaluation(EligibilityTable, table=True):
    """One evaluation of a dossier (a submission or a pre-check): outcome and every check made."""

    __audit__ = False  # a computed answer, not a change of anyone's data

    id: str = Field(primary_key=True, max_length=36)
    application_id: str | None = Field(default=None, index=True, max_length=64)
    edition: str = Field(max_length=16)
    project_type: str = Field(max_length=32)
    uscc: str | None = Field(default=None, index=True, max_length=40)
    outcome: str = Field(max_length=16)
    reference_date: date | None = None
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    dossier_sha256: str | None = Field(default=None, max_length=64)
    checks: list = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class CreditEntry(EligibilityTable, table=True):
    """An entry of the joint-punishment credit list (N3.1); (uscc, kind, source, listed_on) names it."""

    __table_args__ = (UniqueConstraint("uscc", "kind", "source", "listed_on"),)

    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(index=True, max_length=18)
    kind: str = Field(max_length=40)
    source: str = Field(max_length=200)
    listed_on: date
    delisted_on: date | None = None


class Debarment(EligibilityTable, table=True):
    """A unit barred from applying until a date (N3.2); (uscc, source, starts_on) names it."""

    __table_args__ = (UniqueConstraint("uscc", "source", "starts_on"),)

    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(index=True, max_length=18)
    reason: str = Field(max_length=500)
    source: str = Field(max_length=200)
    starts_on: date
    ends_on: date


class RecognisedBase(EligibilityTable, table=True):
    """A national TCM service export base recognised by MOFCOM et al. (G5.1.1)."""

    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(unique=True, max_length=18)
    base_name: str = Field(max_length=200)
    recognised_on: date | None = None
    # G5.1.3: the edition whose construction support the base already received before this system kept claims
    construction_supported_in: str | None = Field(default=None, max_length=16)


class ClaimedInvoice(EligibilityTable, table=True):
    """An invoice number an application of an edition claims (N3.3 duplicate detection)."""

    __table_args__ = (UniqueConstraint("edition", "application_id", "invoice_number", "line_no"),
                      Index("ix_claimedinvoice_edition_invoice_key", "edition", "invoice_key"))
    __audit__ = False  # derived from the application, replaced on every evaluation

    id: int | None = Field(default=None, primary_key=True)
    edition: str = Field(max_length=16)
    application_id: str = Field(index=True, max_length=64)
    invoice_number: str = Field(max_length=40)
    invoice_key: str = Field(max_length=40)  # the number without spaces, upper case: what two claims compare
    line_no: int
    uscc: str = Field(index=True, max_length=18)
    project_type: str | None = Field(default=None, max_length=32)


class ClaimedProject(EligibilityTable, table=True):
    """A project a submitted application declares, to find the same project declared twice (N3.3)."""

    # a unit's projects of one type are looked up in every edition (G1.3.2, G5.1.1 ask about earlier ones): the unit
    # leads the index, so the lookup is not a scan of every claim
    __table_args__ = (Index("ix_claimedproject_project_key", "edition", "project_key"),
                      Index("ix_claimedproject_unit_type", "uscc", "project_type", "edition"))
    __audit__ = False  # derived from the application, replaced on every evaluation

    id: int | None = Field(default=None, primary_key=True)
    edition: str = Field(max_length=16)
    application_id: str = Field(unique=True, max_length=64)
    uscc: str = Field(max_length=18)
    project_type: str = Field(max_length=32)
    project_key: str = Field(max_length=200)


class AuditEvent(EligibilityTable, AuditEventBase, table=True):
    """Eligibility's audit trail (registry changes)."""


class AuditHead(EligibilityTable, AuditHeadBase, table=True):
    """Head of eligibility's audit chain."""


class Job(EligibilityTable, JobBase, table=True):
    """Eligibility's jobs: registry imports (common/jobs.py)."""


class JobPart(EligibilityTable, JobPartBase, table=True):
    """Pieces of eligibility's job results."""
