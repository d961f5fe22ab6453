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
from common.webhooks import publish_many
from common.worker import PollingWorker

from .clients import CallFailed, PolicyClients
from .models import WEBHOOKS, Applicant, Application, OutboxMessage
from .service import dossier, event_summary, lock_for_writing

log = logging.getLogger("fundflow.intake.outbox")
CLAIM_LEASE_S = 60
MAX_BACKOFF_S = 60.0


def _utcnow() -> datetime:
    # retry timing is operational: it follows the real clock even when the programme's clock is fixed
    return datetime.now(timezone.utc)


class OutboxWorker(PollingWorker):
    """Claims due messages, calls eligibility and calculation, stores their answers; replicas share the work."""

    def __init__(self, engine, clients: PolicyClients, poll_s: float, max_backoff_s: float = MAX_BACKOFF_S,
                 batch: int = 200) -> None:
        super().__init__(poll_s)
        self.engine = engine
        self.clients = clients
        self.max_backoff_s = max_backoff_s
        self.batch = batch

    async def round(self) -> bool:
        """Process what is due, two batches side by side; True when there was something."""
        # while one batch is evaluated the other is claimed or stored: both cores and both services stay busy; the
        # claims never overlap (SKIP LOCKED, or the compare-and-set leaves the later claimer what is left)
        results = await asyncio.gather(self._batch(), self._batch(), return_exceptions=True)
        for failure in (r for r in results if isinstance(r, BaseException)):
            raise failure  # both have ended: the worker's loop reports it and tries again
        return any(results)

    async def _batch(self) -> bool:
        """Claim, evaluate, price and store one batch; True when there was something."""
        claimed = await run_in_threadpool(self._claim, self.batch)
        if not claimed:
            return False
        dossiers = [document for _, document in claimed]
        try:
            # one call to each service for the whole batch, both at once: each bounded by the clients' timeout, so
            # the batch ends well inside its lease
            evaluations, computations = await asyncio.gather(self.clients.evaluate_many(dossiers),
                                                             self.clients.compute_many(dossiers))
        except Exception as exc:  # any failure of the other side (down, slow, non-2xx): retry later, visibly
            answers = [(None, None, _reason(exc))] * len(claimed)
        else:
            answers = [_answer(e, c) for e, c in zip(evaluations, computations)]
        try:
            await run_in_threadpool(self._store, [message_id for message_id, _ in claimed], answers)
        except Exception as exc:
            # the answers could not be stored (the database away): the lease expires and the messages are taken again
            log.error("storing %s evaluations failed: %s", len(claimed), exc.__class__.__name__)
        return True

    def _claim(self, batch: int) -> list[tuple[str, dict]]:
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
            messages = {m.id: m for m in session.exec(query).all()}
            if not messages:
                return []
            # still due means nobody moved it first: one statement takes what is still ours to take
            moved = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(messages)), OutboxMessage.status == "pending",
                       OutboxMessage.next_attempt_at <= now)
                .values(next_attempt_at=lease).returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)).scalars().all()
            taken = [messages[message_id] for message_id in messages if message_id in set(moved)]
            applications = _by_id(session, Application, [m.application_id for m in taken])
            # held while the dossiers are built: the identity map keeps only what someone references
            applicants = _by_id(session, Applicant, [a.applicant_id for a in applications.values()])
            claimed = [(m.id, dossier(session, applications[m.application_id])) for m in taken]
            del applicants
            session.commit()
            return claimed

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            lock_for_writing(session)
            yield session

    def _store(self, message_ids: list[str], answers: list[tuple[dict | None, dict | None, str | None]]) -> None:
        """Record each message's answers, or its failure and when to try again, in one transaction."""
        with self._session() as session:
            messages = _by_id(session, OutboxMessage, message_ids)
            applications = _by_id(session, Application, [m.application_id for m in messages.values()])
            failures, events = [], []
            for message_id, (evaluation, computation, error) in zip(message_ids, answers):
                message = messages[message_id]
                application = applications[message.application_id]
                message.attempts += 1
                if error is None:
                    events += self._done(message, application, evaluation, computation)
                else:
                    self._failed(message, application, error)
                    failures.append((message.id, message.attempts, error))
            publish_many(session, WEBHOOKS, events, _utcnow())
            session.commit()
        for message_id, attempts, error in failures[:5]:  # the first few say why; the rest is the same story
            log.warning("evaluation of %s failed (attempt %s), retrying: %s", message_id, attempts, error)

    @staticmethod
    def _done(message: OutboxMessage, application: Application, evaluation: dict, computation: dict) -> list[tuple]:
        """Store the answers; the event announcing them (none when the message was replaced meanwhile)."""
        if message.status != "pending":  # replaced by a resubmission meanwhile: its answers are stale
            return []
        message.status = "done"
        application.evaluation, application.computation = evaluation, computation
        application.evaluation_status = "done"
        application.evaluation_attempts = message.attempts
        application.evaluation_error = None
        return [("evaluation.ready", "application", application.id,
                 {**event_summary(application), "outcome": evaluation.get("outcome"),
                  "amount": computation.get("amount")})]

    def _failed(self, message: OutboxMessage, application: Application, error: str) -> None:
        message.last_error = error
        message.next_attempt_at = _utcnow() + timedelta(seconds=self.backoff_s(message.attempts))
        if message.status == "pending":
            application.evaluation_status = "failed_retrying"
            application.evaluation_attempts = message.attempts
            application.evaluation_error = error

    def backoff_s(self, attempts: int) -> float:
        """Seconds before the next attempt: doubling from one second up to the ceiling, with a little jitter."""
        return min(self.max_backoff_s, 2 ** min(attempts - 1, 16)) * random.uniform(0.8, 1.0)


def _answer(evaluation: dict, computation: dict) -> tuple[dict | None, dict | None, str | None]:
    """(evaluation, computation, None) when both services accepted the dossier, else (None, None, why not)."""
    for service, item in (("eligibility", evaluation), ("calculation", computation)):
        if item.get("problem") is not None:
            return None, None, f"{service} refused it ({item['problem']['status']}): {item['problem']['detail']}"[:500]
    return evaluation["result"], computation["result"], None


def _by_id(session: Session, table, ids: list[str]) -> dict:
    """Rows of `table` by id, in one query."""
    return {row.id: row for row in session.exec(select(table).where(table.id.in_(ids)))} if ids else {}


def _reason(exc: Exception) -> str:
    """A short account of a failed attempt for the application's evaluation_error (no stack, no secrets)."""
    if isinstance(exc, (CallFailed, Problem)):
        text = str(exc)
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return text[:500]
