"""The evaluation outbox: every submitted application is evaluated and priced, however long the others are away."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import update
from sqlmodel import Session, select

from .clients import PolicyClients
from common.webhooks import publish
from common.worker import PollingWorker

from .models import WEBHOOKS, Application, OutboxMessage
from .service import dossier, event_summary

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
        for message_id, document in claimed:
            await self._process(message_id, document)
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
        except Exception as exc:  # any failure of the other side: retry later, visibly
            await run_in_threadpool(self._failed, message_id, f"{exc.__class__.__name__}: {exc}"[:500])
            return
        await run_in_threadpool(self._done, message_id, evaluation, computation)

    def _done(self, message_id: str, evaluation: dict, computation: dict) -> None:
        with Session(self.engine) as session:
            message = session.get(OutboxMessage, message_id)
            application = session.get(Application, message.application_id)
            application.evaluation, application.computation = evaluation, computation
            application.evaluation_status = "done"
            message.status, message.attempts = "done", message.attempts + 1
            session.add_all([application, message])
            publish(session, WEBHOOKS, "evaluation.ready", "application", application.id,
                    {**event_summary(application), "outcome": evaluation.get("outcome"),
                     "amount": computation.get("amount")}, _utcnow())
            session.commit()

    def _failed(self, message_id: str, error: str) -> None:
        with Session(self.engine) as session:
            message = session.get(OutboxMessage, message_id)
            message.attempts += 1
            message.last_error = error
            message.next_attempt_at = _utcnow() + timedelta(seconds=min(self.max_backoff_s, 2 ** message.attempts))
            application = session.get(Application, message.application_id)
            application.evaluation_status = "retrying"
            session.add_all([message, application])
            session.commit()
        log.warning("evaluation of %s failed, retrying: %s", message_id, error)
