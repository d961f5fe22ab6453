"""An append-only audit trail chained by SHA-256, the same mechanism in every service (each keeps its own tables).

A service declares two tables from the bases below on its own table base (`class AuditEvent(IntakeTable,
AuditEventBase, table=True)` and the same for `AuditHeadBase`, the head holding one row with id 1) and calls
`append_event` in the transaction of every state change. Appending first updates the head row, which takes the row
lock on PostgreSQL and the write lock on SQLite, so concurrent writers queue and every event names its true predecessor.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import JSON, Index, event, func, insert, inspect, update
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Session, SQLModel, select

from .auth import principal_var, require_roles
from .db import JSON_SCALARS, SessionDep, UtcDateTime
from .pagination import Page, PageDep
from .problems import problem_responses
from .logging import request_id_var

GENESIS_HASH = "0" * 64


class AuditEventBase(SQLModel):
    """Columns of an audit event: who did what to which resource, before and after, chained by hash."""

    __tablename__ = "audit_event"

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        """The index behind a resource's history, declared per table (an Index belongs to one table)."""
        return (Index("ix_audit_event_resource", "resource_type", "resource_id"),)

    seq: int = Field(primary_key=True, description="Position in the chain, from 1")
    occurred_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    actor: str = Field(max_length=100, description="Who (user or service name)")
    role: str = Field(max_length=24, description="Their role")
    request_id: str | None = Field(default=None, max_length=128, description="X-Request-ID of the request")
    resource_type: str = Field(max_length=40, description="Kind of resource changed")
    resource_id: str = Field(max_length=64, description="Its id")
    action: str = Field(max_length=40, description="What was done")
    before: dict | None = Field(default=None, sa_type=JSON, nullable=True)
    after: dict | None = Field(default=None, sa_type=JSON, nullable=True)
    prev_hash: str = Field(max_length=64, description="Hash of the previous event")
    hash: str = Field(max_length=64, description="SHA-256 over the previous hash and this event's content")


class AuditHeadBase(SQLModel):
    """The chain's head: last sequence number and hash (one row, id 1)."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    seq: int = Field(default=0)
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)


def _jsonable(value: Any) -> Any:
    # most values are text or numbers, recorded as they are: answered before the checks below (an outbox batch
    # records a dozen values for each of its hundreds of applications)
    if type(value) in JSON_SCALARS or isinstance(value, str):  # a Digest too
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def event_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """SHA-256 of the previous hash and a canonical JSON of the event's content."""
    # a value JSON has no type for is hashed as its text, as the JSON column stores it and gives it back to verify
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _utc_text(instant: datetime) -> str:
    # SQLite gives timestamps back naive: both sides of the hash see the same UTC text
    if instant.tzinfo is not None:
        instant = instant.astimezone(timezone.utc).replace(tzinfo=None)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


CONTENT_FIELDS = ("seq", "occurred_at", "actor", "role", "request_id", "resource_type", "resource_id", "action",
                  "before", "after")


def _content(event: AuditEventBase) -> dict[str, Any]:
    return _content_of({name: getattr(event, name) for name in CONTENT_FIELDS})


def _content_of(values: dict[str, Any]) -> dict[str, Any]:
    """What an event's hash covers, from its column values."""
    return {**{name: values[name] for name in CONTENT_FIELDS}, "occurred_at": _utc_text(values["occurred_at"])}


def append_event(session: Session, event_cls: type[AuditEventBase], head_cls: type[AuditHeadBase], *,
                 actor: str, role: str, resource_type: str, resource_id: str, action: str, occurred_at: datetime,
                 before: Any = None, after: Any = None) -> None:
    """Add one event to the chain explicitly, in the caller's transaction (for changes made without the ORM)."""
    append_events(session, event_cls, head_cls, [{
        "actor": actor, "role": role, "resource_type": resource_type, "resource_id": str(resource_id),
        "action": action, "occurred_at": occurred_at, "before": before, "after": after}])


def current_actor() -> tuple[str, str]:
    """Who the events being recorded are by: the request's principal, or the service itself (its workers)."""
    principal = principal_var.get()
    return (principal.subject, principal.role) if principal is not None else ("system", "service")


def answer_digest(raw: Any) -> str:
    """How the trail records a large derived value (`__audit_digest__`): `sha256:` of its canonical JSON."""
    # an answer kept in full where it was made (an evaluation, a computation): its fingerprint says whether it
    # changed, without copying kilobytes into every event
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Digest(str):
    """A value's digest, given in place of the value by a writer that keeps it (recorded as it is)."""


def text_digest(text: str) -> Digest:
    """How the trail records a value kept as JSON text by its writer: `sha256:` of that text, as stored."""
    return Digest("sha256:" + hashlib.sha256(text.encode()).hexdigest())


class ChainReport(BaseModel):
    """The outcome of checking an audit chain."""

    valid: bool
    events_checked: int
    first_invalid_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, event_cls: type[AuditEventBase], head_cls: type[AuditHeadBase],
                 batch: int = 1000) -> ChainReport:
    """Recompute every hash in order; report the first event that does not match."""
    prev, expected_seq, checked, last_seq = GENESIS_HASH, 1, 0, 0
    while True:
        rows = session.exec(select(event_cls).where(event_cls.seq > last_seq).order_by(event_cls.seq)
                            .limit(batch)).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(valid=False, events_checked=checked, first_invalid_seq=expected_seq,
                                   reason=f"event {expected_seq} is missing")
            if row.prev_hash != prev or event_hash(prev, _content(row)) != row.hash:
                return ChainReport(valid=False, events_checked=checked, first_invalid_seq=row.seq,
                                   reason=f"event {row.seq} does not match its hash")
            prev, expected_seq, checked, last_seq = row.hash, expected_seq + 1, checked + 1, row.seq
    head = session.get(head_cls, 1)
    if head is not None and (head.seq != checked or head.last_hash != prev):
        return ChainReport(valid=False, events_checked=checked, first_invalid_seq=checked + 1,
                           reason="the chain ends before its recorded head: events were removed")
    return ChainReport(valid=True, events_checked=checked)


def _recorded(cls: type) -> Any:
    """How each column's value is recorded: as is, masked (`***`), or as the digest of a large derived value."""
    mask = getattr(cls, "__audit_mask__", frozenset())
    digest = getattr(cls, "__audit_digest__", frozenset())

    def value(key: str, raw: Any) -> Any:
        if key in mask:
            return "***"
        if key in digest and raw is not None:
            return raw if isinstance(raw, Digest) else answer_digest(raw)
        return _jsonable(raw)
    return value


def _column_values(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    value = _recorded(type(obj))
    return {attr.key: value(attr.key, attr.value) for attr in state.attrs if attr.key in state.mapper.columns}


def _changed_values(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    changes = []
    for attr in state.attrs:
        if attr.key in state.mapper.columns and attr.history.has_changes():
            history = attr.history
            changes.append((attr.key, history.deleted[0] if history.deleted else None,
                            history.added[0] if history.added else None))
    return _differences(type(obj), changes)


def _differences(cls: type, changes: list[tuple[str, Any, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the (column, old, new) changes whose values differ, as the trail records them."""
    value = _recorded(cls)
    before, after = {}, {}
    for key, old, new in changes:
        if old != new:
            before[key], after[key] = value(key, old), value(key, new)
    return before, after


def update_entry(cls: type, resource_id: str, old: dict[str, Any], new: dict[str, Any], occurred_at: datetime
                 ) -> dict[str, Any]:
    """The entry the flush hook records when a `cls` row's columns go from `old` to `new` (for append_events, by
    writers that update rows without the ORM); its `after` is empty when nothing changed. A column the trail records
    by its digest may be given as its Digest on both sides: compared and recorded as that."""
    actor, role = current_actor()
    before, after = _differences(cls, [(key, old[key], value) for key, value in new.items()])
    return {"actor": actor, "role": role, "resource_type": cls.__tablename__, "resource_id": resource_id,
            "action": "update", "occurred_at": occurred_at, "before": before, "after": after}


def _primary_key(obj: Any) -> str:
    identity = inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(part) for part in identity)


def install_audit(event_cls: type[AuditEventBase], head_cls: type[AuditHeadBase], clock) -> None:
    """Record every insert, update and delete of the service's tables as a chained audit event.

    It hooks the ORM flush, so an event is written in the same transaction as the change it records
    and nothing that changes state through the ORM escapes it. A table opts out with `__audit__ = False`
    (the audit tables themselves, delivery queues); columns listed in `__audit_mask__` are recorded as `***`,
    those in `__audit_digest__` as their SHA-256.
    """

    def record(session: Session, _context, _instances) -> None:
        actor, role = current_actor()
        changes = []
        for obj in list(session.new):
            if getattr(type(obj), "__audit__", True) and not isinstance(obj, (event_cls, head_cls)):
                changes.append((obj, "create", None, _column_values(obj)))
        for obj in list(session.dirty):
            # the head moved by append_event before this flush is the chain itself, not a change to record
            if isinstance(obj, head_cls):
                continue
            if getattr(type(obj), "__audit__", True) and session.is_modified(obj, include_collections=False):
                before, after = _changed_values(obj)
                if after:
                    changes.append((obj, "update", before, after))
        for obj in list(session.deleted):
            if getattr(type(obj), "__audit__", True):
                changes.append((obj, "delete", _column_values(obj), None))
        now = clock.now()
        append_events(session, event_cls, head_cls, [
            {"actor": actor, "role": role, "resource_type": type(obj).__tablename__,
             "resource_id": _primary_key(obj) if action != "create" else _new_key(obj), "action": action,
             "occurred_at": now, "before": before, "after": after} for obj, action, before, after in changes])

    event.listen(Session, "before_flush", record)


def _new_key(obj: Any) -> str:
    # a new row's key may not be assigned until the INSERT; most tables here use client-made ids
    try:
        return _primary_key(obj)
    except Exception:  # noqa: BLE001 - an autoincrement key is simply not known yet
        return "new"


def append_events(session: Session, event_cls: type[AuditEventBase], head_cls: type[AuditHeadBase],
                  entries: list[dict[str, Any]]) -> None:
    """Add events (actor, role, resource_type, resource_id, action, occurred_at, before, after) to the chain in order,
    in the caller's transaction: the flush hook's, and those of changes written in bulk without the ORM.

    The UPDATE of the head comes first: it locks the head until commit (row lock on PostgreSQL, write lock
    on SQLite), so no two writers read the same predecessor; the events of one call are chained in memory.
    """
    if not entries:
        return
    # plain statements, not ORM objects: a batch of hundreds of changes chains its events in one INSERT
    head = head_cls.__table__
    moved = session.execute(update(head).where(head.c.id == 1).values(seq=head.c.seq + len(entries))
                            .returning(head.c.seq, head.c.last_hash)).one()
    seq, prev = moved.seq - len(entries), moved.last_hash
    request_id = request_id_var.get()
    rows = []
    for fields in entries:
        seq += 1
        row = {**fields, "seq": seq, "request_id": request_id, "prev_hash": prev,
               "before": _jsonable(fields["before"]), "after": _jsonable(fields["after"])}
        row["hash"] = prev = event_hash(prev, _content_of(row))
        rows.append(row)
    session.execute(insert(event_cls.__table__), rows)
    session.execute(update(head).where(head.c.id == 1).values(last_hash=prev))


class AuditEventRead(BaseModel):
    """One audit event as the API shows it."""

    seq: int = Field(description="Position in the chain, from 1")
    occurred_at: datetime = Field(description="When the change was made")
    actor: str = Field(description="Who made it (user or service)")
    role: str = Field(description="Their role")
    request_id: str | None = Field(description="X-Request-ID of the request that made it")
    resource_type: str = Field(description="Kind of resource (table)")
    resource_id: str = Field(description="Its id")
    action: str = Field(description="create, update, delete, or a named action")
    before: dict | None = Field(description="Values before the change (changed fields only for updates)")
    after: dict | None = Field(description="Values after the change")
    prev_hash: str = Field(description="Hash of the previous event")
    hash: str = Field(description="SHA-256 over prev_hash and this event's content")


def audit_router(event_cls: type[AuditEventBase], head_cls: type[AuditHeadBase]) -> APIRouter:
    """Read-only routes over a service's audit trail: list events, verify the chain."""
    router = APIRouter(prefix="/audit-events", tags=["audit"],
                       dependencies=[Depends(require_roles("city_officer", "admin"))])

    @router.get("", response_model=Page[AuditEventRead], responses=problem_responses(401, 403))
    def list_audit_events(session: SessionDep, page: PageDep,
                          resource_type: str | None = Query(None, description="Only this kind of resource"),
                          resource_id: str | None = Query(None, description="Only this resource")):
        """Audit events in chain order (append-only: there is no way to change them through the API)."""
        query = select(event_cls)
        count = select(func.count()).select_from(event_cls)
        for column, value in (("resource_type", resource_type), ("resource_id", resource_id)):
            if value is not None:
                query = query.where(getattr(event_cls, column) == value)
                count = count.where(getattr(event_cls, column) == value)
        rows = session.exec(query.order_by(event_cls.seq).limit(page.limit).offset(page.offset)).all()
        return Page[AuditEventRead](items=[AuditEventRead.model_validate(r, from_attributes=True) for r in rows],
                                    total=session.exec(count).one(), limit=page.limit, offset=page.offset)

    @router.get("/verify", response_model=ChainReport, responses=problem_responses(401, 403))
    def verify_audit_chain(session: SessionDep) -> ChainReport:
        """Recompute the hash chain and say whether any event was altered or removed."""
        return verify_chain(session, event_cls, head_cls)

    return router
