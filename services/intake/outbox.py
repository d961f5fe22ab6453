"""The evaluation outbox: every submitted application is evaluated and priced, however long the others are away."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import update
from sqlmodel import Session, select

from common.problems import Problem
from common.webhooks import publish
from common.worker import PollingWorker

from .clients import CallFailed, PolicyClients
from .models import WEBHOOKS, Application, OutboxMessage
from .service import dossier, event_summary, lock_for_writing

log = logging.getLogger("fundflow.intake.outbox")
CLAIM_LEASE_S = 60
MAX_BACKOFF_S = 60.0


def _utcnow() -> datetime:
    # retry timing is operational: it follows the real clock even when the programme's clock is fixed
    return datetime.now(timezone.utc)


class OutboxWorker(PollingWorker):
    """Claims due messages, calls eligibility and calculation, stores their answers; replicas share the work."""

    def __init__(self, engine, clients: PolicyClients, poll_s: float, max_backoff_s: float = MAX_BACKOFF_S) -> None:
        super().__init__(poll_s)
        self.engine = engine
        self.clients = clients
        self.max_backoff_s = max_backoff_s

    async def round(self) -> bool:
        """Process what is due; True when there was something."""
        claimed = await run_in_threadpool(self._claim)
        # side by side: each attempt is bounded by the clients' timeout, so the batch ends well inside its lease
        results = await asyncio.gather(*(self._process(message_id, document) for message_id, document in claimed),
                                       return_exceptions=True)
        for failure in (r for r in results if isinstance(r, Exception)):
            # the answer could not be stored (the database away): the lease expires and the message is taken again
            log.error("storing an evaluation failed: %s", failure.__class__.__name__)
        return bool(claimed)

    def _claim(self, batch: int = 20) -> list[tuple[str, dict]]:
        """Take due messages under a lease, with the dossier of each.

        A message is taken by moving its due time forward only if nobody moved it first: with several
        processes on one database (replicas, or SQLite without SKIP LOCKED) each message has one taker.
        """
        now = _utcnow()
        lease = now + timedelta(seconds=CLAIM_LEASE_S)
        with Session(self.engine) as session:
            query = (select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                 OutboxMessage.next_attempt_at <= now)
                     .order_by(OutboxMessage.created_at).limit(batch))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            claimed = []
            for message in session.exec(query).all():
                taken = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id, OutboxMessage.next_attempt_at == message.next_attempt_at)
                    .values(next_attempt_at=lease).execution_options(synchronize_session=False))
                if taken.rowcount == 1:
                    claimed.append((message.id, dossier(session, session.get(Application, message.application_id))))
            session.commit()
            return claimed

    async def _process(self, message_id: str, document: dict) -> None:
        try:
            evaluation = await self.clients.evaluate(document)
            computation = await self.clients.compute(document)
        except Exception as exc:  # any failure of the other side (down, slow, non-2xx): retry later, visibly
            await run_in_threadpool(self._failed, message_id, _reason(exc))
            return
        await run_in_threadpool(self._done, message_id, evaluation, computation)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            lock_for_writing(session)
            yield session

    def _done(self, message_id: str, evaluation: dict, computation: dict) -> None:
        with self._session() as session:
            message = session.get(OutboxMessage, message_id)
            attempts = message.attempts + 1
            message.attempts = attempts
            session.add(message)
            if message.status == "pending":  # not replaced by a resubmission meanwhile
                message.status = "done"
                application = session.get(Application, message.application_id)
                application.evaluation, application.computation = evaluation, computation
                application.evaluation_status = "done"
                application.evaluation_attempts = attempts
                application.evaluation_error = None
                session.add(application)
                publish(session, WEBHOOKS, "evaluation.ready", "application", application.id,
                        {**event_summary(application), "outcome": evaluation.get("outcome"),
                         "amount": computation.get("amount")}, _utcnow())
            session.commit()

    def _failed(self, message_id: str, error: str) -> None:
        with self._session() as session:
            message = session.get(OutboxMessage, message_id)
            message.attempts += 1
            message.last_error = error
            message.next_attempt_at = _utcnow() + timedelta(seconds=self.backoff_s(message.attempts))
            session.add(message)
            if message.status == "pending":
                application = session.get(Application, message.application_id)
                application.evaluation_status = "failed_retrying"
                application.evaluation_attempts = message.attempts
                application.evaluation_error = error
                session.add(application)
            session.commit()
        log.warning("evaluation of %s failed (attempt %s), retrying: %s", message_id, message.attempts, error)

    def backoff_s(self, attempts: int) -> float:
        """Seconds before the next attempt: doubling from one second up to the ceiling, with a little jitter."""
        return min(self.max_backoff_s, 2 ** min(attempts - 1, 16)) * random.uniform(0.8, 1.0)


def _reason(exc: Exception) -> str:
    """A short account of a failed attempt for the application's evaluation_error (no stack, no secrets)."""
    if isinstance(exc, (CallFailed, Problem)):
        text = str(exc)
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return text[:500]
