"""The gateway's one table: the user accounts of its embedded token issuer."""
from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.db import NAMING_CONVENTION, UtcDateTime

SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UserAccount(SQLModel, table=True):
    """Someone who may obtain a token, with the role and the unit or district it is bound to."""

    __tablename__ = "user_account"
    __audit_mask__ = frozenset({"password_hash"})

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=24)
    unit_uscc: str | None = Field(default=None, max_length=18)
    district_code: str | None = Field(default=None, max_length=6)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class AuditEvent(AuditEventBase, table=True):
    """The gateway's audit trail (account changes)."""

    __tablename__ = "audit_event"


class AuditHead(AuditHeadBase, table=True):
    """Head of the gateway's audit chain."""

    __tablename__ = "audit_head"
