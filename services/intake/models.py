"""Tables of the intake service."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric
from sqlmodel import Field, SQLModel

from common.db import NAMING_CONVENTION, UtcDateTime

SQLModel.metadata.naming_convention = NAMING_CONVENTION


class Applicant(SQLModel, table=True):
    """An applicant unit (申报单位), identified by its USCC."""

    id: str = Field(primary_key=True, max_length=36)
    uscc: str = Field(unique=True, max_length=18)
    name: str = Field(max_length=200)
    legal_representative: str = Field(max_length=100)
    district_code: str = Field(max_length=6)
    registered_capital: Decimal = Field(sa_column=Column(Numeric(18, 2), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
