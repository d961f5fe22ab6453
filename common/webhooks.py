"""Events to subscribers by URL: a durable delivery queue in the service's own database, signed, retried, in order.

A service declares three tables from the bases below, mounts `webhook_router`, calls `publish` in the
transaction of the change it announces (so an event exists exactly when its change does), and runs
`WebhookWorker` in its lifespan. Deliveries follow the Standard Webhooks convention: headers `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
Delivery is at least once: a delivery is marked done only after a 2xx, a claim expires if its worker dies,
and events of one resource reach a subscriber in the order they happened.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import JSON, Index, and_, exists, func, insert, update
from sqlalchemy.orm import aliased, declared_attr
from sqlmodel import Session, SQLModel, select
from sqlmodel import Field as SQLField

from .auth import PrincipalDep, require_roles
from .db import JSON_SCALARS, SessionDep, UtcDateTime
from .pagination import Page, PageDep
from .problems import NotFound, Unprocessable, problem_responses
from .worker import PollingWorker

MAX_ATTEMPTS = 12
CLAIM_LEASE_S = 60


def _utcnow() -> datetime:
    # delivery timing is operational, not programme time: it follows the real clock even when the domain's is fixed
    return datetime.now(timezone.utc)


class WebhookSubscriptionBase(SQLModel):
    """Columns of a subscription: where to send which event types, with which secret."""

    __tablename__ = "webhook_subscription"
    __audit_mask__ = frozenset({"secret"})

    id: str = SQLField(primary_key=True, max_length=36)
    url: str = SQLField(max_length=500)
    event_types: list = SQLField(sa_type=JSON, nullable=False)
    secret: str = SQLField(max_length=80)
    active: bool = SQLField(default=True)
    created_by: str = SQLField(max_length=100)
    created_at: datetime = SQLField(sa_type=UtcDateTime, nullable=False)


class WebhookEventBase(SQLModel):
    """Columns of an event that happened."""

    __tablename__ = "webhook_event"
    __audit__ = False

    seq: int | None = SQLField(default=None, primary_key=True)
    id: str = SQLField(unique=True, max_length=40)
    type: str = SQLField(max_length=60)
    resource_type: str = SQLField(max_length=40)
    resource_id: str = SQLField(max_length=64)
    occurred_at: datetime = SQLField(sa_type=UtcDateTime, nullable=False)
    data: dict = SQLField(sa_type=JSON, nullable=False)


class WebhookDeliveryBase(SQLModel):
    """Columns of one event's delivery to one subscriber, with every attempt."""

    __tablename__ = "webhook_delivery"
    __audit__ = False

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        """The indexes the worker polls by: what is due, and each subscriber's order per resource."""
        return (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
                Index("ix_webhook_delivery_order", "subscription_id", "resource_key", "event_seq"))

    id: str = SQLField(primary_key=True, max_length=36)
    subscription_id: str = SQLField(max_length=36)
    event_seq: int = SQLField()
    resource_key: str = SQLField(max_length=110)
    status: str = SQLField(default="pending", max_length=12)
    attempts: int = SQLField(default=0)
    next_attempt_at: datetime = SQLField(sa_type=UtcDateTime, nullable=False)
    delivered_at: datetime | None = SQLField(default=None, sa_type=UtcDateTime, nullable=True)
    attempt_log: list = SQLField(default_factory=list, sa_type=JSON, nullable=False)


class WebhookTables:
    """The three tables of one service's webhooks, and the event types it may announce."""

    def __init__(self, subscription, event, delivery, event_types: dict[str, str]) -> None:
        self.subscription = subscription
        self.event = event
        self.delivery = delivery
        self.event_types = event_types  # type -> description


def publish(session: Session, tables: WebhookTables, event_type: str, resource_type: str, resource_id: str,
            data: dict[str, Any], occurred_at: datetime) -> None:
    """Record an event and queue a delivery to every active subscriber of its type, in the caller's transaction."""
    publish_many(session, tables, [(event_type, resource_type, resource_id, data)], occurred_at)


def publish_many(session: Session, tables: WebhookTables, events: list[tuple[str, str, str, dict[str, Any]]],
                 occurred_at: datetime) -> None:
    """Record events (type, resource type, resource id, data) in order, with one INSERT and one subscriber lookup."""
    unknown = {event_type for event_type, *_ in events} - set(tables.event_types)
    if unknown:
        raise ValueError(f"unknown event types {sorted(unknown)}")
    if not events:
        return
    rows = [{"id": f"evt_{uuid.uuid4().hex}", "type": event_type, "resource_type": resource_type,
             "resource_id": str(resource_id), "occurred_at": occurred_at,
             "data": _as_json(data)}
            for event_type, resource_type, resource_id, data in events]
    # plain statements, not ORM objects: an outbox batch announces hundreds of evaluations at once; each event's seq
    # (given by the database, in the order of the rows) orders its deliveries
    event_table = tables.event.__table__
    subscriptions = session.exec(select(tables.subscription).where(tables.subscription.active)).all()
    wanted = [(row, [sub for sub in subscriptions if row["type"] in sub.event_types]) for row in rows]
    if not any(subs for _, subs in wanted):
        # nobody to deliver to: no seq to read back. The rows go as one prepared statement run for each (psycopg's
        # pipeline), not as one multi-row INSERT … RETURNING whose text, thousands of placeholders long, the driver
        # parsed anew for every batch of an edition re-evaluated (its statement cache keeps texts of up to 4 KiB)
        session.execute(insert(event_table), rows)
        return
    seqs = session.execute(insert(event_table).returning(event_table.c.seq, sort_by_parameter_order=True),
                           rows).scalars().all()
    now = _utcnow()
    deliveries = [{"id": str(uuid.uuid4()), "subscription_id": sub.id, "event_seq": seq,
                   "resource_key": f"{row['resource_type']}/{row['resource_id']}", "status": "pending",
                   "attempts": 0, "next_attempt_at": now, "attempt_log": []}
                  for (row, subs), seq in zip(wanted, seqs) for sub in subs]
    session.execute(insert(tables.delivery.__table__), deliveries)


def _as_json(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as its JSON gives it back: values JSON has no type for as their text."""
    if all(type(key) is str and type(value) in JSON_SCALARS for key, value in data.items()):
        return dict(data)  # flat text and numbers (an evaluation's event): the same without the round trip
    return json.loads(json.dumps(data, default=str))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for a body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def event_body(event) -> bytes:
    """The JSON a subscriber receives."""
    return json.dumps({"id": event.id, "type": event.type, "occurred_at": _iso(event.occurred_at),
                       "resource": {"type": event.resource_type, "id": event.resource_id}, "data": event.data},
                      ensure_ascii=False, sort_keys=True).encode()


def _iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.isoformat()


def backoff_s(attempts: int) -> float:
    """Seconds before the next try: 1, 2, 4 … up to an hour."""
    return min(3600.0, 2.0 ** max(0, attempts - 1))


class WebhookWorker(PollingWorker):
    """Claims due deliveries, sends them, records each attempt; one per process, safe with several replicas."""

    def __init__(self, engine, tables: WebhookTables, poll_s: float = 0.5, batch: int = 50,
                 timeout_s: float = 5.0) -> None:
        super().__init__(poll_s)
        self.engine = engine
        self.tables = tables
        self.batch = batch
        self.http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def stop(self) -> None:
        """Stop the loop and close the HTTP pool."""
        await super().stop()
        await self.http.aclose()

    async def round(self) -> bool:
        """Send what is due; True when there was something."""
        claimed = await run_in_threadpool(self._claim)
        if claimed:
            results = await asyncio.gather(*(self._send(*item) for item in claimed))
            await run_in_threadpool(self._record, results)
        return bool(claimed)

    def _claim(self) -> list[tuple[str, str, str, bytes, str]]:
        """Take due deliveries (the earliest pending one per subscriber and resource) under a lease.

        A delivery is taken by moving its due time forward only if nobody moved it first: SQLite has no SKIP LOCKED,
        and two replicas that read the same due rows both sent them (the replicas test saw an event twice)."""
        t = self.tables
        now = _utcnow()
        earlier = aliased(t.delivery)
        blocked = exists().where(and_(earlier.subscription_id == t.delivery.subscription_id,
                                      earlier.resource_key == t.delivery.resource_key,
                                      earlier.status == "pending", earlier.event_seq < t.delivery.event_seq))
        with Session(self.engine) as session:
            query = (select(t.delivery).where(t.delivery.status == "pending", t.delivery.next_attempt_at <= now,
                                              ~blocked)
                     .order_by(t.delivery.event_seq).limit(self.batch))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=t.delivery)
            deliveries = session.exec(query).all()
            if not deliveries:
                return []
            # still due means still ours to take: one statement takes those, and another taker's are left to it
            taken = set(session.execute(
                update(t.delivery).where(t.delivery.id.in_([d.id for d in deliveries]),
                                         t.delivery.status == "pending", t.delivery.next_attempt_at <= now)
                .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_S)).returning(t.delivery.id)
                .execution_options(synchronize_session=False)).scalars())
            out = []
            for delivery in (d for d in deliveries if d.id in taken):
                sub = session.get(t.subscription, delivery.subscription_id)
                event = session.exec(select(t.event).where(t.event.seq == delivery.event_seq)).one()
                out.append((delivery.id, sub.url, sub.secret, event_body(event), event.id))
            session.commit()
            return out

    async def _send(self, delivery_id: str, url: str, secret: str, body: bytes, event_id: str):
        timestamp = int(time.time())
        headers = {"content-type": "application/json", "webhook-id": event_id,
                   "webhook-timestamp": str(timestamp), "webhook-signature": sign(secret, event_id, timestamp, body)}
        started = time.perf_counter()
        try:
            response = await self.http.post(url, content=body, headers=headers)
            status, error = response.status_code, None if response.is_success else response.text[:200]
        except httpx.HTTPError as exc:
            status, error = None, f"{exc.__class__.__name__}: {exc}"[:200]
        return delivery_id, status, error, round((time.perf_counter() - started) * 1000, 1)

    def _record(self, results) -> None:
        with Session(self.engine) as session:
            now = _utcnow()
            for delivery_id, status, error, elapsed in results:
                delivery = session.get(self.tables.delivery, delivery_id)
                delivery.attempts += 1
                delivery.attempt_log = [*delivery.attempt_log, {"at": now.isoformat(), "status": status,
                                                                "error": error, "ms": elapsed}]
                if status is not None and 200 <= status < 300:
                    delivery.status, delivery.delivered_at = "delivered", now
                elif delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = "dead"
                else:
                    delivery.next_attempt_at = now + timedelta(seconds=backoff_s(delivery.attempts))
                session.add(delivery)
            session.commit()


class SubscriptionCreate(BaseModel):
    """A new subscription."""

    model_config = {"json_schema_extra": {"examples": [{
        "url": "https://integrator.example/fundflow/events",
        "event_types": ["application.submitted", "application.passed"]}]}}

    url: HttpUrl = Field(description="Where to POST events")
    event_types: list[str] = Field(min_length=1, description="Event types to receive")


class SubscriptionRead(BaseModel):
    """A subscription (the secret is shown only when it is created)."""

    id: str = Field(description="Subscription id")
    url: str = Field(description="Where events are POSTed")
    event_types: list[str] = Field(description="Event types received")
    active: bool = Field(description="false once deleted")
    created_by: str = Field(description="Who subscribed")
    created_at: datetime = Field(description="When")
    secret: str | None = Field(default=None, description="HMAC key (whsec_…): shown once, at creation")


class DeliveryRead(BaseModel):
    """One event's delivery to a subscriber, with every attempt."""

    id: str = Field(description="Delivery id")
    event_id: str = Field(description="The event's id (the webhook-id header)")
    event_type: str = Field(description="The event's type")
    resource: str = Field(description="type/id of the resource the event is about")
    status: str = Field(description="pending, delivered, or dead after too many failures")
    attempts: int = Field(description="Attempts made")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only)")
    delivered_at: datetime | None = Field(description="When a 2xx came back")
    attempt_log: list[dict] = Field(description="Each attempt: at, status, error, ms")


class EventTypeRead(BaseModel):
    """An event type this service announces."""

    type: str = Field(description="Event type")
    description: str = Field(description="When it is sent")


def webhook_router(tables: WebhookTables) -> APIRouter:
    """Subscriptions, their deliveries, and the event types on offer."""
    router = APIRouter(prefix="/webhooks", tags=["webhooks"],
                       dependencies=[Depends(require_roles("admin", "city_officer"))])

    def _read(sub, secret: str | None = None) -> SubscriptionRead:
        return SubscriptionRead(id=sub.id, url=sub.url, event_types=sub.event_types, active=sub.active,
                                created_by=sub.created_by, created_at=sub.created_at, secret=secret)

    def _get(session: Session, subscription_id: str):
        sub = session.get(tables.subscription, subscription_id)
        if sub is None:
            raise NotFound(f"No webhook subscription {subscription_id}.")
        return sub

    @router.get("/event-types", response_model=list[EventTypeRead], responses=problem_responses(401, 403))
    def list_event_types() -> list[EventTypeRead]:
        """The event types this service announces."""
        return [EventTypeRead(type=k, description=v) for k, v in sorted(tables.event_types.items())]

    @router.post("", response_model=SubscriptionRead, status_code=201, responses=problem_responses(401, 403))
    def create_webhook(data: SubscriptionCreate, session: SessionDep, principal: PrincipalDep,
                       request: Request) -> SubscriptionRead:
        """Subscribe a URL to event types; the answer carries the signing secret, once."""
        unknown = sorted(set(data.event_types) - set(tables.event_types))
        if unknown:
            raise Unprocessable(f"Unknown event types: {', '.join(unknown)}; see GET /webhooks/event-types.",
                                errors=[{"field": "body.event_types", "message": f"unknown: {', '.join(unknown)}",
                                         "code": "enum"}])
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        sub = tables.subscription(id=str(uuid.uuid4()), url=str(data.url), event_types=sorted(set(data.event_types)),
                                  secret=secret, active=True, created_by=principal.subject,
                                  created_at=request.app.state.clock.now())
        session.add(sub)
        session.flush()
        return _read(sub, secret)

    @router.get("", response_model=list[SubscriptionRead], responses=problem_responses(401, 403))
    def list_webhooks(session: SessionDep) -> list[SubscriptionRead]:
        """Every subscription."""
        return [_read(s) for s in session.exec(select(tables.subscription).order_by(tables.subscription.created_at))]

    @router.delete("/{subscription_id}", response_model=SubscriptionRead, responses=problem_responses(401, 403, 404))
    def delete_webhook(subscription_id: str, session: SessionDep) -> SubscriptionRead:
        """Stop a subscription (its history stays visible)."""
        sub = _get(session, subscription_id)
        sub.active = False
        session.add(sub)
        return _read(sub)

    @router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryRead],
                responses=problem_responses(401, 403, 404))
    def list_webhook_deliveries(subscription_id: str, session: SessionDep, page: PageDep) -> Page[DeliveryRead]:
        """A subscription's deliveries, newest first, with their attempts."""
        _get(session, subscription_id)
        d, e = tables.delivery, tables.event
        base = select(d, e).join(e, e.seq == d.event_seq).where(d.subscription_id == subscription_id)
        total = session.exec(select(func.count()).select_from(d).where(d.subscription_id == subscription_id)).one()
        rows = session.exec(base.order_by(d.event_seq.desc()).limit(page.limit).offset(page.offset)).all()
        items = [DeliveryRead(id=dl.id, event_id=ev.id, event_type=ev.type, resource=dl.resource_key,
                              status=dl.status, attempts=dl.attempts, delivered_at=dl.delivered_at,
                              next_attempt_at=dl.next_attempt_at if dl.status == "pending" else None,
                              attempt_log=dl.attempt_log) for dl, ev in rows]
        return Page[DeliveryRead](items=items, total=total, limit=page.limit, offset=page.offset)

    return router
