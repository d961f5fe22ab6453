"""Tables of the disbursement service."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

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
