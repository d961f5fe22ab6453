"""Tables of the calculation service: every computation kept with its trace, so it can be shown later."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Numeric
from sqlmodel import Field, SQLModel

from common.db import UtcDateTime, table_registry

class CalculationTable(SQLModel, registry=table_registry()):
    """Base of the calculation tables: a metadata of their own, apart from every other service's."""


class Computation(CalculationTable, table=True):
    """One amount computed for a dossier (a submission, an audit's recomputation or a pre-check), with its trace."""

    id: str = Field(primary_key=True, max_length=36)
    application_id: str | None = Field(default=None, index=True, max_length=64)
    edition: str = Field(max_length=16)
    project_type: str = Field(max_length=32)
    uscc: str | None = Field(default=None, index=True, max_length=40)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    reference_date: date | None = None
    disallowed: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dossier_sha256: str | None = Field(default=None, max_length=64)
    trace: list = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
