"""Two webhook senders on one SQLite database (replicas) that read the same due deliveries: each is taken once.

SQLite has no SKIP LOCKED. Both readers are held after their read until the other has read too, the interleaving
that let two replicas send the same event (tests/deploy/test_replicas.py saw it once on a slow machine)."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from sqlalchemy import event
from sqlmodel import Session

from common.webhooks import WebhookWorker, publish_many
from services.disbursement.db import open_database
from services.disbursement.models import WEBHOOKS, WebhookSubscription
from services.disbursement.settings import DisbursementSettings


def test_two_senders_reading_the_same_due_deliveries_take_each_once(tmp_path, monkeypatch):
    monkeypatch.setenv("DISBURSEMENT_DATA_DIR", str(tmp_path))
    engine = open_database(DisbursementSettings(migrate_on_start=True))
    try:
        now = datetime.now(timezone.utc)
        with Session(engine) as session:
            session.add(WebhookSubscription(id=str(uuid.uuid4()), url="http://127.0.0.1:9/hook",
                                            event_types=["payment.sent"], secret="s" * 32, created_by="test",
                                            created_at=now))
            session.flush()
            publish_many(session, WEBHOOKS, [("payment.sent", "payment", f"p{i}", {"n": i}) for i in range(20)], now)
            session.commit()

        both_read = threading.Barrier(2, timeout=10)

        def hold_after_reading_due(conn, cursor, statement, parameters, context, executemany):
            # the due deliveries are read, nothing written yet: wait for the other sender's read
            if statement.lstrip().startswith("SELECT") and "FROM webhook_delivery" in statement \
                    and "webhook_delivery.next_attempt_at <=" in statement:
                both_read.wait()

        event.listen(engine, "after_cursor_execute", hold_after_reading_due)
        senders = [WebhookWorker(engine, WEBHOOKS), WebhookWorker(engine, WEBHOOKS)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            claimed = list(pool.map(lambda sender: [item[0] for item in sender._claim()], senders))
        event.remove(engine, "after_cursor_execute", hold_after_reading_due)

        assert not set(claimed[0]) & set(claimed[1]), "a delivery was taken by both senders"
        assert len(claimed[0]) + len(claimed[1]) == 20  # one sender took them all, the other none
    finally:
        engine.dispose()
