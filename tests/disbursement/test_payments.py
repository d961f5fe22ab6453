"""From a final plan to reconciled payments: two legs, exactly once under concurrency, statements, retries, clawback."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from ..intake.test_webhooks import Receiver
from ..test_slice import wait_for
from .test_plans import passed_application


def final_plan(system) -> dict:
    """A final plan holding two fresh projects (the clock moved past the notice by a second process)."""
    applications = [passed_application(system, district="210224") for _ in range(2)]
    city = system.client_for("city_officer")
    city.post("/api/v1/disbursement/projects/import")
    plan = city.post("/api/v1/disbursement/plans", json={"budget": "99999999.00"}).json()
    city.post(f"/api/v1/disbursement/plans/{plan['id']}/publish")
    later = system.spawn("disbursement", DISBURSEMENT_FIXED_NOW="2025-12-18T09:00:00+08:00")
    try:
        final = httpx.post(f"{later.url}/plans/{plan['id']}/finalise", headers=city.headers)
        assert final.status_code == 200, final.text
    finally:
        later.stop()
    ids = {a["id"] for a in applications}
    return {**final.json(), "ours": [i for i in final.json()["items"] if i["application_id"] in ids]}


def test_payments_from_a_final_plan_exactly_once_then_reconciled(system):
    receiver = Receiver()
    subscribed = system.client_for("admin").post("/api/v1/disbursement/webhooks", json={
        "url": receiver.url, "event_types": ["plan.finalised", "payment.sent", "payment.paid", "payment.failed",
                                             "clawback.demanded"]})
    assert subscribed.status_code == 201
    plan = final_plan(system)
    finance = system.client_for("finance_officer")
    url = f"/api/v1/disbursement/plans/{plan['id']}/payments"
    assert finance.post(url).status_code == 400  # no Idempotency-Key

    key = f"pay-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=25) as pool:
        same_key = list(pool.map(lambda _: finance.post(url, headers={"Idempotency-Key": key}), range(50)))
        other_keys = list(pool.map(lambda i: finance.post(url, headers={"Idempotency-Key": f"{key}-{i}"}), range(10)))
    assert {r.status_code for r in same_key + other_keys} == {201}, [r.text for r in same_key if r.status_code != 201]
    sets = {tuple(sorted(i["end_to_end_id"] for i in r.json())) for r in same_key + other_keys}
    assert len(sets) == 1, "concurrent requests created more than one set of instructions"
    instructions = finance.get(url).json()
    assert len(instructions) == len(plan["items"]) + 1
    treasury = [i for i in instructions if i["leg"] == "treasury"]
    assert len(treasury) == 1 and treasury[0]["amount"] == plan["total"]
    units = {i["project_id"]: i for i in instructions if i["leg"] == "unit"}
    assert sum(Decimal(i["amount"]) for i in units.values()) == Decimal(plan["total"])
    reused = finance.post(f"/api/v1/disbursement/plans/{uuid.uuid4()}/payments", headers={"Idempotency-Key": key})
    assert reused.status_code == 409  # same key, different request

    first, second = (units[item["project_id"]] for item in plan["ours"])
    statement = "end_to_end_id,status,reason\n" + "\n".join(
        [f"{treasury[0]['end_to_end_id']},paid,", f"{first['end_to_end_id']},paid,",
         f"{second['end_to_end_id']},failed,账户已销户", "NOSUCHID,paid,", f"{first['end_to_end_id']},bounced,"]
        + [f"{i['end_to_end_id']},paid," for i in units.values() if i["id"] not in (first["id"], second["id"])])
    applied = finance.post("/api/v1/disbursement/payments/statements", content=statement.encode(),
                           headers={"Content-Type": "text/csv"}).json()
    assert [e["line"] for e in applied["errors"]] == [5, 6]

    recon = finance.get(f"/api/v1/disbursement/plans/{plan['id']}/reconciliation").json()
    assert recon["balanced"] is True and recon["total"]["failed"] == second["amount"]

    retry_key = f"retry-{uuid.uuid4()}"
    retried = finance.post(f"/api/v1/disbursement/payments/{second['id']}/retry", headers={"Idempotency-Key": retry_key})
    assert retried.status_code == 201 and retried.json()["retry_of"] == second["id"]
    assert retried.json()["attempt"] == 2 and retried.json()["end_to_end_id"] != second["end_to_end_id"]
    replayed = finance.post(f"/api/v1/disbursement/payments/{second['id']}/retry",
                            headers={"Idempotency-Key": retry_key})
    assert replayed.json() == retried.json()
    twice = finance.post(f"/api/v1/disbursement/payments/{second['id']}/retry",
                         headers={"Idempotency-Key": f"{retry_key}-again"})
    assert twice.status_code == 409
    finance.post("/api/v1/disbursement/payments/statements", headers={"Content-Type": "text/csv"},
                 content=f"end_to_end_id,status,reason\n{retried.json()['end_to_end_id']},paid,\n".encode())
    recon = finance.get(f"/api/v1/disbursement/plans/{plan['id']}/reconciliation").json()
    assert recon["balanced"] is True
    assert recon["total"] == {"planned": plan["total"], "paid": plan["total"], "pending": "0.00", "failed": "0.00"}
    assert recon["units"][plan["ours"][1]["uscc"]]["paid"] == second["amount"]

    city = system.client_for("city_officer")
    clawback = city.post("/api/v1/disbursement/clawbacks", json={
        "project_id": first["project_id"], "amount": first["amount"], "reason": "伪造发票",
        "evidence": "税务机关核查函", "forged_materials": True}).json()
    assert clawback["status"] == "demanded"
    debarments = city.get("/api/v1/eligibility/debarments", params={"uscc": clawback["uscc"]}).json()
    assert [(d["starts_on"], d["ends_on"]) for d in debarments] == [("2025-12-10", "2028-12-10")]
    half = (Decimal(first["amount"]) / 2).quantize(Decimal("0.01"))
    partly = city.post(f"/api/v1/disbursement/clawbacks/{clawback['id']}/recoveries",
                       json={"recovered": f"{half}"}).json()
    assert partly["status"] == "partly_recovered"
    rest = Decimal(first["amount"]) - half
    done = city.post(f"/api/v1/disbursement/clawbacks/{clawback['id']}/recoveries", json={"recovered": f"{rest}"})
    assert done.json()["status"] == "recovered" and done.json()["recovered"] == first["amount"]

    # integration systems heard every step, each payee's events in order
    def heard():
        return [json.loads(r["body"]) for r in receiver.received]
    def of_second(events):
        return [e["type"] for e in events if e["resource"]["id"] == second["project_id"]]
    events = wait_for(heard, lambda e: any(x["type"] == "clawback.demanded" for x in e) and len(of_second(e)) >= 4)
    finalised = [e for e in events if e["type"] == "plan.finalised" and e["resource"]["id"] == plan["id"]]
    assert finalised and finalised[0]["data"]["status"] == "final"
    assert of_second(events) == ["payment.sent", "payment.failed", "payment.sent", "payment.paid"]
