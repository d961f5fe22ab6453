"""Two replicas of disbursement on one database: payments created once whichever replica is asked, each event
delivered once although both replicas run the webhook sender (intake's two replicas: tests/intake/test_replicas.py)."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from ..disbursement.test_payments import final_plan
from ..intake.test_webhooks import Receiver
from ..test_slice import wait_for


def test_two_disbursement_replicas_never_pay_or_deliver_twice(system):
    receiver = Receiver()
    subscribed = system.client_for("admin").post("/api/v1/disbursement/webhooks", json={
        "url": receiver.url, "event_types": ["payment.sent"]})
    assert subscribed.status_code == 201, subscribed.text
    plan = final_plan(system)
    replica = system.spawn("disbursement")
    finance = system.client_for("finance_officer")
    try:
        with httpx.Client(base_url=replica.url, headers=finance.headers, timeout=30.0) as direct:
            # the gateway's route reaches the first replica, the direct client the second
            replicas = [lambda path, **kw: finance.post(f"/api/v1/disbursement{path}", **kw),
                        lambda path, **kw: direct.post(path, **kw)]
            path = f"/plans/{plan['id']}/payments"
            key = f"pay-{uuid.uuid4()}"
            with ThreadPoolExecutor(max_workers=16) as pool:
                same_key = list(pool.map(lambda i: replicas[i % 2](path, headers={"Idempotency-Key": key}),
                                         range(32)))
                other_keys = list(pool.map(lambda i: replicas[i % 2](path, headers={"Idempotency-Key": f"{key}-{i}"}),
                                           range(8)))
            answers = same_key + other_keys
            assert {r.status_code for r in answers} == {201}, [r.text for r in answers if r.status_code != 201]
            sets = {tuple(sorted(i["end_to_end_id"] for i in r.json())) for r in answers}
            assert len(sets) == 1, "two replicas created more than one set of instructions"
            instructions = finance.get(f"/api/v1/disbursement{path}").json()
            assert len(instructions) == len(plan["items"]) + 1

            def sent():
                return [e for e in (json.loads(r["body"]) for r in receiver.received)
                        if e["data"]["plan_id"] == plan["id"]]

            wait_for(sent, lambda events: len(events) >= len(instructions), timeout=30)
            time.sleep(2)  # several polls of both senders: a second delivery would have arrived by now
            events = sent()
            assert Counter(e["id"] for e in events).most_common(1)[0][1] == 1, "an event was delivered twice"
            assert sorted(e["data"]["instruction_id"] for e in events) == sorted(i["id"] for i in instructions)
    finally:
        replica.stop()
        system.client_for("admin").delete(f"/api/v1/disbursement/webhooks/{subscribed.json()['id']}")
