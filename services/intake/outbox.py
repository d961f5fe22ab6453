"""The evaluation outbox: every submitted application is evaluated and priced, however long the others are away."""
from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from fastapi.concurrency import run_in_threadpool
from pydantic_core import from_json
from sqlalchemy import Text, bindparam, case, cast, select, update
from sqlmodel import Session

from common.audit import Digest, append_events, text_digest, update_entry
from common.clock import Clock
from common.db import JsonText, json_text, one_of
from common.problems import Problem
from common.webhooks import publish_many
from common.worker import PollingWorker

from .clients import CallFailed, PolicyClients
from .models import WEBHOOKS, Applicant, Application, AuditEvent, AuditHead, OutboxMessage
from .reevaluations import count_progress
from .service import dossier_head, event_summary, lock_for_writing

log = logging.getLogger("fundflow.intake.outbox")
CLAIM_LEASE_S = 60
MAX_BACKOFF_S = 60.0

_applications, _applicants, _messages = Application.__table__, Applicant.__table__, OutboxMessage.__table__
# what a dossier is made of: the application's fields, its unit's, and its content as stored (JSON text, sent on as is)
DOSSIER_ROWS = select(_applications.c.id, _applications.c.edition, _applications.c.project_type,
                      _applications.c.submitted_at, _applicants.c.uscc, _applicants.c.name, _applicants.c.district_code,
                      cast(_applications.c.content, Text).label("content")).join_from(
    _applications, _applicants, _applications.c.applicant_id == _applicants.c.id)
# what storing an answer changes and reports: the evaluation's columns and the fields of its event, the answers it
# replaces (ANSWERS) by the digests kept with them (of their JSON as stored), not read and serialised again
ANSWERS = ("evaluation", "computation")
APPLICATION_STATE = (_applications.c.id, _applications.c.applicant_id, _applications.c.edition,
                     _applications.c.project_type, _applications.c.status, _applications.c.version,
                     _applications.c.evaluation_digest, _applications.c.computation_digest,
                     _applications.c.evaluation_status, _applications.c.evaluation_attempts,
                     _applications.c.evaluation_error)
# run with a list of rows: the columns set are the keys of the rows besides the id
APPLICATION_UPDATE = update(_applications).where(_applications.c.id == bindparam("a_id"))
MESSAGE_UPDATE = update(_messages).where(_messages.c.id == bindparam("m_id"))


def _utcnow() -> datetime:
    # retry timing is operational: it follows the real clock even when the programme's clock is fixed
    return datetime.now(timezone.utc)


class OutboxWorker(PollingWorker):
    """Claims due messages, calls eligibility and calculation, stores their answers; replicas share the work."""

    def __init__(self, engine, clients: PolicyClients, clock: Clock, poll_s: float,
                 max_backoff_s: float = MAX_BACKOFF_S, batch: int = 400, lanes: int = 3) -> None:
        super().__init__(poll_s)
        self.engine = engine
        self.clock = clock  # the programme's clock, which the audit trail's events are stamped with
        self.clients = clients
        self.max_backoff_s = max_backoff_s
        self.batch = batch
        self.lanes = lanes

    async def round(self) -> bool:
        """Process what is due in `lanes` lanes side by side, each batch after batch; True when there was something."""
        # while one lane's batch is evaluated another's is claimed or stored: both cores and both services stay
        # busy, and a lane goes on without waiting for the others' batches to end. The claims never overlap (SKIP
        # LOCKED, or the compare-and-set leaves the later claimer what is left)
        results = await asyncio.gather(*(self._lane() for _ in range(self.lanes)), return_exceptions=True)
        for failure in (r for r in results if isinstance(r, BaseException)):
            raise failure  # all have ended: the worker's loop reports it and tries again
        return any(results)

    async def _lane(self) -> bool:
        """Batches one after another until none is due; True when there was any."""
        worked = False
        while await self._batch():
            worked = True
        return worked

    async def _batch(self) -> bool:
        """Claim, evaluate, price and store one batch; True when there was something."""
        claimed = await run_in_threadpool(self._claim, self.batch)
        if not claimed:
            return False
        message_ids, body = claimed
        try:
            # one call to each service for the whole batch, both at once and with the same body: each bounded by the
            # clients' timeout, so the batch ends well inside its lease
            evaluations, computations = await asyncio.gather(self.clients.evaluate_many(body, len(message_ids)),
                                                             self.clients.compute_many(body, len(message_ids)))
        except Exception as exc:  # any failure of the other side (down, slow, non-2xx): retry later, visibly
            answers = [(None, None, _reason(exc))] * len(message_ids)
        else:
            answers = [_answer(e, c) for e, c in zip(evaluations, computations)]
        try:
            await run_in_threadpool(self._store, message_ids, answers)
        except Exception as exc:
            # the answers could not be stored (the database away): the lease expires and the messages are taken again
            log.error("storing %s evaluations failed: %s", len(message_ids), exc.__class__.__name__)
        return True

    def _claim(self, batch: int) -> tuple[list[str], bytes] | None:
        """Take due messages under a lease: their ids and the request body of their dossiers.

        A message is taken by moving its due time forward only if nobody moved it first: with several
        processes on one database (replicas, or SQLite without SKIP LOCKED) each message has one taker.
        """
        now = _utcnow()
        lease = now + timedelta(seconds=CLAIM_LEASE_S)
        messages = _messages
        # plain statements on a connection: the batch reads and writes columns, no ORM objects to build
        with self.engine.begin() as connection:
            postgresql = connection.dialect.name == "postgresql"
            query = (select(messages.c.id, messages.c.application_id)
                     .where(messages.c.status == "pending", messages.c.next_attempt_at <= now)
                     .order_by(messages.c.created_at).limit(batch))
            if postgresql:
                query = query.with_for_update(skip_locked=True)
            due = connection.execute(query).all()
            if not due:
                return None
            # still due means nobody moved it first: one statement takes what is still ours to take
            moved = set(connection.execute(
                update(messages).where(one_of(messages.c.id, "ids", postgresql), messages.c.status == "pending",
                                       messages.c.next_attempt_at <= now)
                .values(next_attempt_at=lease).returning(messages.c.id), {"ids": [m.id for m in due]}).scalars())
            taken = [m for m in due if m.id in moved]
            if not taken:
                return None
            rows = {row.id: row for row in connection.execute(
                DOSSIER_ROWS.where(one_of(_applications.c.id, "ids", postgresql)),
                {"ids": list({m.application_id for m in taken})})}
        return [m.id for m in taken], dossiers_body([rows[m.application_id] for m in taken])

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            lock_for_writing(session)  # head, then rows: the lock order of every writing request
            yield session

    def _store(self, message_ids: list[str], answers: list[tuple[dict | None, dict | None, str | None]]) -> None:
        """Record each message's answers, or its failure and when to try again, in one transaction.

        Written as plain statements, one per kind of change for the whole batch; the audit events the ORM hook would
        have recorded for each application's change are appended explicitly (common.audit.append_events)."""
        messages, applications = _messages, _applications
        with self._session() as session:
            postgresql = session.get_bind().dialect.name == "postgresql"
            state = {m.id: m for m in session.execute(select(
                messages.c.id, messages.c.application_id, messages.c.reevaluation_id, messages.c.status,
                messages.c.attempts).where(one_of(messages.c.id, "ids", postgresql)), {"ids": message_ids})}
            current = {a.id: a for a in session.execute(
                select(*APPLICATION_STATE).where(one_of(applications.c.id, "ids", postgresql)),
                {"ids": list({m.application_id for m in state.values()})})}
            answered, retried, done, failed, audits, events, failures = [], [], [], [], [], [], []
            progressed = Counter()  # re-evaluation id: its messages answered now
            now = self.clock.now()
            for message_id, (evaluation, computation, error) in zip(message_ids, answers):
                message = state[message_id]
                attempts = message.attempts + 1
                application = current[message.application_id]
                # not pending: replaced by a resubmission meanwhile, its answers are stale
                in_play = message.status == "pending"
                if error is None:
                    answered.append(message_id)
                    change = {"evaluation_status": "done", "evaluation_attempts": attempts, "evaluation_error": None}
                    if in_play:
                        # each answer serialised once: stored as that text, and digested from it; the digest is kept
                        # with it and recorded by the trail
                        texts = {answer: JsonText(json_text(value))
                                 for answer, value in zip(ANSWERS, (evaluation, computation))}
                        digests = {answer: text_digest(text) for answer, text in texts.items()}
                        done.append({**change, **texts, **{f"{answer}_digest": digest
                                                           for answer, digest in digests.items()},
                                     "a_id": application.id})
                        if message.reevaluation_id is not None:
                            progressed[message.reevaluation_id] += 1
                        change.update(digests)
                        events.append(("evaluation.ready", "application", application.id, {
                            **event_summary(application), "outcome": evaluation.get("outcome"),
                            "amount": computation.get("amount")}))
                else:
                    retried.append({"m_id": message_id, "attempts": attempts, "last_error": error,
                                    "next_attempt_at": _utcnow() + timedelta(seconds=self.backoff_s(attempts))})
                    failures.append((message_id, attempts, error))
                    change = {"evaluation_status": "failed_retrying", "evaluation_attempts": attempts,
                              "evaluation_error": error}
                    if in_play:
                        failed.append({**change, "a_id": application.id})
                if in_play:
                    audits.append(update_entry(Application, application.id, {
                        column: _held(application, column) for column in change}, change, now))
            if answered:  # one statement: a pending message is done, a superseded one stays so
                session.execute(update(messages).where(one_of(messages.c.id, "ids", postgresql)).values(
                    status=case((messages.c.status == "pending", "done"), else_=messages.c.status),
                    attempts=messages.c.attempts + 1), {"ids": answered})
            # each list holds rows changed alike: one UPDATE run for all of them (its SET names their keys)
            for statement, changes in ((MESSAGE_UPDATE, retried), (APPLICATION_UPDATE, done),
                                       (APPLICATION_UPDATE, failed)):
                if changes:
                    session.execute(statement, changes)
            count_progress(session, "done", progressed)
            append_events(session, AuditEvent, AuditHead, [entry for entry in audits if entry["after"]])
            publish_many(session, WEBHOOKS, events, _utcnow())
            session.commit()
        for message_id, attempts, error in failures[:5]:  # the first few say why; the rest is the same story
            log.warning("evaluation of %s failed (attempt %s), retrying: %s", message_id, attempts, error)

    def backoff_s(self, attempts: int) -> float:
        """Seconds before the next attempt: doubling from one second up to the ceiling, with a little jitter."""
        return min(self.max_backoff_s, 2 ** min(attempts - 1, 16)) * random.uniform(0.8, 1.0)


def _held(application, column: str):
    """What the application holds in a column as the trail compares it: an answer by its kept digest."""
    if column not in ANSWERS:
        return getattr(application, column)
    digest = getattr(application, f"{column}_digest")
    return None if digest is None else Digest(digest)


def _answer(evaluation: dict, computation: dict) -> tuple[dict | None, dict | None, str | None]:
    """(evaluation, computation, None) when both services accepted the dossier, else (None, None, why not)."""
    for service, item in (("eligibility", evaluation), ("calculation", computation)):
        if item.get("problem") is not None:
            return None, None, f"{service} refused it ({item['problem']['status']}): {item['problem']['detail']}"[:500]
    return evaluation["result"], computation["result"], None


def dossiers_body(rows) -> bytes:
    """The batch request's body: each dossier with its content as stored, parsed only for the pledge it declares."""
    items = []
    for row in rows:
        head = json.dumps(dossier_head(row, row, from_json(row.content)), ensure_ascii=False)
        items.append(f'{head[:-1]}, "content": {row.content}}}')
    return ('{"items": [' + ", ".join(items) + "]}").encode()


def _reason(exc: Exception) -> str:
    """A short account of a failed attempt for the application's evaluation_error (no stack, no secrets)."""
    if isinstance(exc, (CallFailed, Problem)):
        text = str(exc)
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    return text[:500]
