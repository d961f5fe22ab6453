"""The gateway's one table: the user accounts of its embedded token issuer."""
from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from common.audit import AuditEventBase, AuditHeadBase
from common.db import UtcDateTime, table_registry

class GatewayTable(SQLModel, registry=table_registry()):
    """Base of the gateway tables: a metadata of their own, apart from every other service's."""


class UserAccount(GatewayTable, table=True):
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


class AuditEvent(GatewayTable, AuditEventBase, table=True):
    """The gateway's audit trail (account changes)."""


class AuditHead(GatewayTable, AuditHeadBase, table=True):
    """Head of the gateway's audit chain."""
