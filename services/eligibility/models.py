"""Tables of the eligibility service: evaluations and the registries the rules consult."""
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from common.db import NAMING_CONVENTION, UtcDateTime

SQLModel.metadata.naming_convention = NAMING_CONVENTION


class Evaluation(SQLModel, table=True):
    """One evaluation of a dossier: outcome and every check made."""

    id: str = Field(primary_key=True, max_length=36)
    application_id: str | None = Field(default=None, index=True, max_length=64)
    edition: str = Field(max_length=16)
    project_type: str = Field(max_length=32)
    outcome: str = Field(max_length=16)
    checks: list = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
