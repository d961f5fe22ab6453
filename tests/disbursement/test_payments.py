"""Payments (N4.5) and clawbacks (N3.2, N3.3): two legs created exactly once, bank statements, linked retries,
reconciliation to the fen; funds demanded back after payment, with a debarment sent to eligibility."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from ..intake.test_webhooks import Receiver
from ..jobs import wait_for_job
from ..test_slice import wait_for
from .flow import D, AfterNotice, audit, finalised_plan, passed_application, take_over

STATEMENT = {"Content-Type": "text/csv"}


def audited_projects(system, count: int = 2) -> list[dict]:
    """Fresh district-passed projects, imported and audited."""
    projects = take_over(system, [passed_application(system) for _ in range(count)])
    return [audit(system, p) for p in projects]


def final_plan(system) -> dict:
    """A final plan holding two fresh audited projects (for other suites: tests/deploy/test_replicas.py)."""
    audited_projects(system)
    later = AfterNotice(system)
    try:
        return finalised_plan(system, later)
    finally:
        later.stop()


def key() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": str(uuid.uuid4())}


def send_statement(finance, content: bytes) -> dict:
    """A bank statement applied (a job), as its record shows what it changed."""
    job = wait_for_job(finance, finance.post(f"{D}/payments/statements", headers=STATEMENT, content=content))
    assert job["status"] == "succeeded", job
    listed = finance.get(f"{D}/payments/statements", params={"limit": 200}).json()["items"]
    return next(s for s in listed if s["id"] == job["result_ref"])


def statement(*lines: str) -> bytes:
    """A bank statement file."""
    return ("end_to_end_id,status,reason,amount\n" + "\n".join(lines) + "\n").encode()


def test_full_cycle_from_passed_projects_to_reconciled_payments_with_the_budget_binding(system, after_notice):
    receiver = Receiver()
    assert system.client_for("city_officer").post(f"{D}/webhooks", json={
        "url": receiver.url, "event_types": ["plan.finalised", "payment.sent", "payment.paid"]}).status_code == 201
    ours = audited_projects(system)
    city = system.client_for("city_officer")
    asked = Decimal(city.post(f"{D}/plans", json={"budget": "99999999.00"}).json()["total"])
    budget = (asked * Decimal("0.75")).quantize(Decimal("0.01")) - Decimal("0.01")
    plan = finalised_plan(system, after_notice, f"{budget}")
    assert Decimal(plan["total"]) == budget and plan["scaling_factor"] != "1"  # 统筹调整 binds, exact to the fen
    allocated = {i["project_id"]: i for i in plan["items"]}
    assert {p["id"] for p in ours} <= set(allocated)

    finance = system.client_for("finance_officer")
    url = f"{D}/plans/{plan['id']}/payments"
    missing_key = finance.post(url)
    assert missing_key.status_code == 400 and "Idempotency-Key" in missing_key.json()["detail"]
    assert system.client_for("city_officer").post(url, headers=key()).status_code == 403
    header = key()
    created = finance.post(url, headers=header)
    assert created.status_code == 201, created.text
    instructions = created.json()
    treasury = [i for i in instructions if i["leg"] == "treasury"]
    units = {i["project_id"]: i for i in instructions if i["leg"] == "unit"}
    assert len(treasury) == 1 and treasury[0]["amount"] == plan["total"] and treasury[0]["payee_name"] == "大连市商务局"
    assert {k: v["amount"] for k, v in units.items()} == {k: v["allocated_amount"] for k, v in allocated.items()
                                                          if Decimal(v["allocated_amount"]) > 0}
    assert all(units[p["id"]]["payee_account"] == "6217000012345678901" for p in ours)  # the registered account
    assert len({i["end_to_end_id"] for i in instructions}) == len(instructions)
    replay = finance.post(url, headers=header)
    assert (replay.status_code, replay.headers.get("idempotent-replayed"), replay.json()) == (201, "true", instructions)
    assert finance.post(url, headers=key()).json() == instructions  # another key: still the one set
    reused = finance.post(f"{D}/plans/{uuid.uuid4()}/payments", headers=header)
    assert reused.status_code == 422 and reused.json()["errors"][0]["code"] == "idempotency_key_reused"

    pending = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert pending["balanced"] and pending["total"]["pending"] == plan["total"]
    assert pending["treasury"]["status"] == "pending"
    paid = send_statement(finance, statement(*[f"{i['end_to_end_id']},paid,,{i['amount']}" for i in instructions]))
    assert (paid["applied"], paid["errors"]) == (len(instructions), [])
    recon = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert recon["balanced"] is True and recon["treasury"]["status"] == "paid"
    assert recon["total"] == {"planned": plan["total"], "paid": plan["total"], "pending": "0.00", "failed": "0.00",
                              "not_instructed": "0.00"}
    assert all(u["balanced"] and u["paid"] == u["planned"] for u in recon["units"])
    assert sum(Decimal(u["paid"]) for u in recon["units"]) == budget

    # delivery is at least once (a slow acknowledgement is delivered again, with the same id): counted once by id
    events = wait_for(lambda: list({e["id"]: e for e in (json.loads(r["body"]) for r in receiver.received)}.values()),
                      lambda got: sum(e["type"] == "payment.paid" for e in got) >= len(instructions))
    assert any(e["type"] == "plan.finalised" and e["resource"]["id"] == plan["id"] for e in events)
    first = ours[0]["id"]
    assert [e["type"] for e in events if e["resource"]["id"] == first] == ["payment.sent", "payment.paid"]


def test_concurrent_identical_payment_requests_create_exactly_one_set(system, after_notice):
    audited_projects(system)
    plan = finalised_plan(system, after_notice)
    finance = system.client_for("finance_officer")
    url = f"{D}/plans/{plan['id']}/payments"
    # 50 at once on PostgreSQL; SQLite (one writer at a time, the embedded default) gets a smaller crowd
    crowd = 50 if system.backend == "postgresql" else 10
    same = key()
    with ThreadPoolExecutor(max_workers=crowd) as pool:
        identical = list(pool.map(lambda _: finance.post(url, headers=same), range(crowd)))
        different = list(pool.map(lambda _: finance.post(url, headers=key()), range(10)))
    assert {r.status_code for r in identical + different} == {201}, [r.text for r in identical if r.status_code != 201]
    sets = {tuple(sorted(i["end_to_end_id"] for i in r.json())) for r in identical + different}
    assert len(sets) == 1, "concurrent requests created more than one set of instructions"
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in identical) == crowd - 1
    stored = finance.get(url).json()
    assert len(stored) == len([i for i in plan["items"] if Decimal(i["allocated_amount"]) > 0]) + 1
    assert [i["leg"] for i in stored].count("treasury") == 1


def test_a_failed_line_is_retried_once_and_the_reconciliation_stays_exact(system, after_notice):
    ours = audited_projects(system)
    plan = finalised_plan(system, after_notice)
    finance = system.client_for("finance_officer")
    instructions = finance.post(f"{D}/plans/{plan['id']}/payments", headers=key()).json()
    units = {i["project_id"]: i for i in instructions if i["leg"] == "unit"}
    good, bad = units[ours[0]["id"]], units[ours[1]["id"]]
    others = [i for i in instructions if i["id"] not in (good["id"], bad["id"])]
    applied = send_statement(finance, statement(
        f"{good['end_to_end_id']},paid,,{good['amount']}",
        f"{bad['end_to_end_id']},failed,账户已销户,{bad['amount']}",
        "NOSUCHID,paid,,1.00",
        f"{good['end_to_end_id']},bounced,,",
        f"{good['end_to_end_id']},paid,,1.00",
        f"{bad['end_to_end_id']},paid,,",
        *[f"{i['end_to_end_id']},paid,," for i in others]))
    assert [(e["line"], e["error"].split()[0]) for e in applied["errors"]] == [
        (4, "unknown"), (5, "status"), (6, "amount"), (7, "the")]
    assert applied["applied"] == 2 + len(others)
    recon = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert recon["balanced"] is True and recon["total"]["failed"] == bad["amount"]
    assert Decimal(recon["total"]["paid"]) + Decimal(recon["total"]["failed"]) == Decimal(plan["total"])
    retried_unit = next(u for u in recon["units"] if u["uscc"] == ours[1]["uscc"])
    assert (retried_unit["failed"], retried_unit["paid"]) == (bad["amount"], "0.00")

    assert finance.post(f"{D}/payments/{good['id']}/retry", headers=key()).status_code == 409  # paid: no retry
    retry_key = key()
    retried = finance.post(f"{D}/payments/{bad['id']}/retry", headers=retry_key)
    assert retried.status_code == 201, retried.text
    retry = retried.json()
    assert (retry["retry_of"], retry["attempt"], retry["status"], retry["amount"]) == (bad["id"], 2, "pending",
                                                                                       bad["amount"])
    assert retry["end_to_end_id"] != bad["end_to_end_id"]
    assert finance.post(f"{D}/payments/{bad['id']}/retry", headers=retry_key).json() == retry
    assert finance.post(f"{D}/payments/{bad['id']}/retry", headers=key()).status_code == 409  # never twice
    assert finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()["total"]["pending"] == bad["amount"]

    # the retry is paid; then the first payment comes back (退票) and is retried in its turn
    send_statement(finance, statement(f"{retry['end_to_end_id']},paid,,", f"{good['end_to_end_id']},returned,收款账户冻结,"))
    returned = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert returned["balanced"] and returned["total"]["failed"] == good["amount"]
    again = finance.post(f"{D}/payments/{good['id']}/retry", headers=key()).json()
    upload = statement(f"{again['end_to_end_id']},paid,,")
    send_statement(finance, upload)
    twice = send_statement(finance, upload)
    assert (twice["applied"], twice["unchanged"], twice["errors"]) == (0, 1, [])  # a statement twice is harmless
    final = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert final["balanced"] is True
    assert final["total"] == {"planned": plan["total"], "paid": plan["total"], "pending": "0.00", "failed": "0.00",
                              "not_instructed": "0.00"}
    history = finance.get(f"{D}/plans/{plan['id']}/payments").json()
    assert [(i["attempt"], i["status"]) for i in history if i["project_id"] == ours[1]["id"]] == [
        (1, "failed"), (2, "paid")]
    assert [(i["attempt"], i["status"]) for i in history if i["project_id"] == ours[0]["id"]] == [
        (1, "returned"), (2, "paid")]
    listed = finance.get(f"{D}/payments/statements", params={"limit": 200}).json()["items"]
    same_file = [(s["applied"], s["unchanged"]) for s in listed if s["sha256"] == twice["sha256"]]
    assert sorted(same_file) == [(0, 1), (1, 0)] and twice["received_by"] == "test-finance_officer"


def test_a_clawback_after_payment_debars_the_unit_and_tracks_recoveries(system, after_notice):
    ours = audited_projects(system)
    plan = finalised_plan(system, after_notice)
    finance = system.client_for("finance_officer")
    instructions = finance.post(f"{D}/plans/{plan['id']}/payments", headers=key()).json()
    send_statement(finance, statement(*[f"{i['end_to_end_id']},paid,," for i in instructions]))
    paid = {i["project_id"]: i["amount"] for i in instructions if i["leg"] == "unit"}
    forged, duplicate = ours
    city = system.client_for("city_officer")

    unpaid = take_over(system, [passed_application(system)])[0]
    refused = city.post(f"{D}/clawbacks", headers=key(), json={
        "project_id": unpaid["id"], "amount": "1.00", "ground": "fraud", "reason": "x"})
    assert refused.status_code == 409 and refused.json()["clause"] == "N3.3"
    too_much = city.post(f"{D}/clawbacks", headers=key(), json={
        "project_id": forged["id"], "amount": f"{Decimal(paid[forged['id']]) + Decimal('0.01')}",
        "ground": "forged_materials", "reason": "x"})
    assert too_much.status_code == 409 and too_much.json()["paid"] == paid[forged["id"]]
    assert city.post(f"{D}/clawbacks", json={"project_id": forged["id"], "amount": "1.00", "ground": "fraud",
                                            "reason": "x"}).status_code == 400  # money moves only with a key

    header = key()
    body = {"project_id": forged["id"], "amount": paid[forged["id"]], "ground": "forged_materials",
            "reason": "伪造发票", "evidence": "税务机关核查函〔2026〕1号"}
    created = city.post(f"{D}/clawbacks", headers=header, json=body)
    assert created.status_code == 201, created.text
    clawback = created.json()
    assert (clawback["status"], clawback["outstanding"], clawback["debarred_until"]) == (
        "demanded", paid[forged["id"]], "2028-12-10")  # three years (N3.2, registries.debarment_years)
    assert city.post(f"{D}/clawbacks", headers=header, json=body).json() == clawback  # replayed, not demanded twice
    debarments = city.get("/api/v1/eligibility/debarments", params={"uscc": forged["uscc"]}).json()
    assert [(d["id"], d["starts_on"], d["ends_on"]) for d in debarments] == [
        (clawback["debarment_id"], "2025-12-10", "2028-12-10")]
    assert city.post(f"{D}/clawbacks", headers=key(), json={**body, "amount": "0.01"}).status_code == 409

    half = (Decimal(paid[forged["id"]]) / 2).quantize(Decimal("0.01"))
    url = f"{D}/clawbacks/{clawback['id']}/recoveries"
    partly = city.post(url, headers=key(), json={"amount": f"{half}", "reference": "缴款书001"}).json()
    assert (partly["status"], partly["recovered"]) == ("partly_recovered", f"{half}")
    rest = Decimal(paid[forged["id"]]) - half
    assert city.post(url, headers=key(), json={"amount": f"{rest + Decimal('0.01')}"}).status_code == 422
    done = city.post(url, headers=key(), json={"amount": f"{rest}", "received_on": "2025-12-20"}).json()
    assert (done["status"], done["recovered"], done["outstanding"]) == ("recovered", paid[forged["id"]], "0.00")
    assert [r["amount"] for r in done["recoveries"]] == [f"{half}", f"{rest}"]
    assert city.post(url, headers=key(), json={"amount": "0.01"}).status_code == 409

    # a duplicate application (N3.3): no debarment; serious, so referred to the judicial authorities
    dup = city.post(f"{D}/clawbacks", headers=key(), json={
        "project_id": duplicate["id"], "amount": "10000.00", "ground": "duplicate_application",
        "reason": "与2023年度项目重复申报"}).json()
    assert dup["debarment_id"] is None and dup["debarred_until"] is None
    referred = city.post(f"{D}/clawbacks/{dup['id']}/referral", json={"note": "拒不退还，移送公安机关"}).json()
    assert (referred["status"], referred["referral_note"]) == ("referred", "拒不退还，移送公安机关")
    assert city.get("/api/v1/eligibility/debarments", params={"uscc": duplicate["uscc"]}).json() == []
    listed = finance.get(f"{D}/clawbacks", params={"uscc": forged["uscc"]}).json()
    assert [c["id"] for c in listed["items"]] == [clawback["id"]]
