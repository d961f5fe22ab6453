"""Allocation plans (N4.3–N4.4): versions from the audited amounts, unit caps then scaling to the fund exact to the
fen, public notice on the PRC calendar, objections upheld into new versions that need a new notice, final."""
from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal

from openpyxl import load_workbook

from .flow import (D, NOTICE_ENDS, audit, construction, dismiss_open_objections, operation, passed_application,
                   register_unit, take_over)


def test_versions_notice_objections_and_the_final_plan(system, after_notice):
    unit = register_unit(system)
    # G1.3.3: one unit's construction (200,000) and O&M (200,000) share a 300,000 cap
    built = passed_application(system, "platform_construction", construction("400000.00"), unit=unit)
    operated = passed_application(system, "platform_operation", operation("250000.00"), unit=unit)
    other = passed_application(system)
    waiting = passed_application(system)
    projects = take_over(system, [built, operated, other, waiting])
    for project in projects[:3]:
        audit(system, project)
    city = system.client_for("city_officer")
    applicant = system.client_for("applicant", unit_uscc=other["uscc"])

    draft = city.post(f"{D}/plans", json={"edition": "2024", "budget": "99999999.00"})
    assert draft.status_code == 201, draft.text
    draft = draft.json()
    items = {i["project_id"]: i for i in draft["items"]}
    assert [items[p["id"]]["capped_amount"] for p in projects[:2]] == ["150000.00", "150000.00"]
    assert [items[p["id"]]["computed_amount"] for p in projects[:2]] == ["200000.00", "200000.00"]
    assert any(step["clause"] == "G1.3.3" for step in draft["unit_caps_trace"])
    assert projects[3]["id"] not in items and {"project_id": projects[3]["id"],
                                               "reason": "awaiting the third-party audit (N4.2)"}.items() <= next(
        o for o in draft["left_out"] if o["project_id"] == projects[3]["id"]).items()
    assert applicant.get(f"{D}/plans/{draft['id']}").status_code == 404  # drafts stay with the city

    # 统筹调整: the fund is 60 % of what is asked (plus a fen), the plan sums to it exactly
    requested = sum(Decimal(i["capped_amount"]) for i in draft["items"])
    budget = (requested * Decimal("0.6")).quantize(Decimal("0.01")) + Decimal("0.01")
    # a caller that pages the lines asks for the version without them (RFC 7240)
    minimal = city.post(f"{D}/plans", json={"budget": f"{budget}"}, headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.headers["preference-applied"] == "return=minimal"
    assert "items" not in minimal.json() and minimal.json()["item_count"] == 3
    assert minimal.headers["location"] == f"/api/v1/disbursement/plans/{minimal.json()['id']}"
    plan = city.get(minimal.headers["location"]).json()
    assert {k: v for k, v in plan.items() if k != "items"} == minimal.json()
    pages = [city.get(f"{D}/plans/{plan['id']}/items", params={"limit": 2, "offset": offset}).json()
             for offset in (0, 2)]
    assert [p["total"] for p in pages] == [3, 3] and pages[0]["items"] + pages[1]["items"] == plan["items"]
    assert applicant.get(f"{D}/plans/{plan['id']}/items").status_code == 404  # a draft's lines stay with the city too
    assert (plan["version"], plan["previous_id"], plan["status"]) == (draft["version"] + 1, draft["id"], "draft")
    assert Decimal(plan["total"]) == budget == sum(Decimal(i["allocated_amount"]) for i in plan["items"])
    assert plan["scaling_factor"] != "1" and plan["scaling_trace"][0]["clause"] == "N4.3"
    assert all(Decimal(i["allocated_amount"]) <= Decimal(i["capped_amount"]) for i in plan["items"])
    old = city.get(f"{D}/plans/{draft['id']}").json()
    assert (old["status"], old["superseded_by"]) == ("superseded", plan["id"])  # never edited, replaced
    assert city.post(f"{D}/plans/{draft['id']}/publish").status_code == 409

    published = city.post(f"{D}/plans/{plan['id']}/publish")
    assert published.status_code == 200, published.text
    assert (published.json()["published_on"], published.json()["notice_ends_on"],
            published.json()["notice_working_days"]) == ("2025-12-10", NOTICE_ENDS, 5)
    assert applicant.get(f"{D}/plans/{plan['id']}").json()["status"] == "published"  # the public notice
    csv_export = applicant.get(f"{D}/plans/{plan['id']}/export", params={"format": "csv"})
    assert csv_export.status_code == 200 and csv_export.headers["content-type"].startswith("text/csv")
    assert other["uscc"] in csv_export.content.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(city.get(f"{D}/plans/{plan['id']}/export",
                                              params={"format": "xlsx"}).content)).active
    assert Decimal(str(sheet.cell(row=sheet.max_row, column=8).value)) == budget

    early = city.post(f"{D}/plans/{plan['id']}/finalise")
    assert early.status_code == 409 and early.json()["clause"] == "N4.4"
    assert early.json()["missing"][0] == f"the notice period (5 working days) runs until {NOTICE_ENDS} included"

    # anyone with access objects during the notice: who, what, evidence
    objection = applicant.post(f"{D}/plans/{plan['id']}/objections", json={
        "project_id": projects[1]["id"], "statement": "该平台运维费用含非运维支出",
        "evidence": "/api/v1/intake/applications/x/documents/y/content"})
    assert objection.status_code == 201, objection.text
    objection = objection.json()
    assert (objection["filed_by_role"], objection["filed_by_unit"], objection["status"]) == (
        "applicant", other["uscc"], "open")
    district = system.client_for("district_officer", district_code="210212").post(
        f"{D}/plans/{plan['id']}/objections", json={"project_id": projects[2]["id"], "statement": "材料存疑"}).json()
    assert applicant.post(f"{D}/plans/{plan['id']}/objections", json={
        "project_id": projects[3]["id"], "statement": "x"}).status_code == 422  # not in this plan

    later = after_notice.client_for("city_officer")
    blocked = later.post(f"{D}/plans/{plan['id']}/finalise")
    assert blocked.status_code == 409 and set(blocked.json()["open_objections"]) >= {objection["id"], district["id"]}
    assert NOTICE_ENDS not in blocked.json()["detail"]  # the period is over; only the objections are missing
    assert after_notice.client_for("applicant", unit_uscc=other["uscc"]).post(
        f"{D}/plans/{plan['id']}/objections", json={"project_id": projects[2]["id"], "statement": "晚了"}
    ).status_code == 409  # after the notice

    dismissed = city.post(f"{D}/objections/{district['id']}/resolve", json={
        "decision": "dismissed", "resolution": "经核实材料真实"}).json()
    assert (dismissed["status"], dismissed["new_plan_id"]) == ("dismissed", None)
    upheld = city.post(f"{D}/objections/{objection['id']}/resolve", json={
        "decision": "upheld", "resolution": "核减运维费用", "effect": "change_amount", "new_amount": "50000.00"})
    assert upheld.status_code == 200, upheld.text
    second = city.get(f"{D}/plans/{upheld.json()['new_plan_id']}").json()
    assert (second["status"], second["previous_id"], second["budget"]) == ("draft", plan["id"], f"{budget}")
    assert city.get(f"{D}/plans/{plan['id']}").json()["status"] == "superseded"
    changed = next(i for i in second["items"] if i["project_id"] == projects[1]["id"])
    assert (changed["computed_amount"], changed["basis"]) == ("50000.00", "objection")
    assert Decimal(second["total"]) <= budget
    assert city.post(f"{D}/objections/{objection['id']}/resolve", json={
        "decision": "dismissed", "resolution": "x"}).status_code == 409

    # the new version needs a new notice of its own
    assert later.post(f"{D}/plans/{second['id']}/finalise").json()["missing"] == ["publish it for its notice first"]
    assert city.post(f"{D}/plans/{second['id']}/publish").json()["notice_ends_on"] == NOTICE_ENDS
    removal = city.post(f"{D}/plans/{second['id']}/objections", json={
        "project_id": projects[2]["id"], "statement": "该单位已注销"}).json()
    third_id = city.post(f"{D}/objections/{removal['id']}/resolve", json={
        "decision": "upheld", "resolution": "取消支持", "effect": "remove"}).json()["new_plan_id"]
    third = city.get(f"{D}/plans/{third_id}").json()
    assert projects[2]["id"] not in {i["project_id"] for i in third["items"]}
    assert next(o for o in third["left_out"] if o["project_id"] == projects[2]["id"])["reason"].startswith("removed")
    city.post(f"{D}/plans/{third_id}/publish")
    dismiss_open_objections(system, third)
    final = later.post(f"{D}/plans/{third_id}/finalise")
    assert final.status_code == 200, final.text
    assert final.json()["status"] == "final" and final.json()["finalised_at"].startswith("2025-12-18")
    # its lines were marked allocated in one statement, recorded by one audit event naming them (count and digest)
    marked = city.get(f"{D}/audit-events", params={"resource_type": "planitem", "resource_id": third_id}).json()
    finalised = [e for e in marked["items"] if e["action"] == "finalise_lines"]
    assert len(finalised) == 1 and finalised[0]["after"]["lines"] == len(third["items"])
    assert finalised[0]["role"] == "city_officer"
    # the digest is the documented one: SHA-256 of the compact JSON array of the marked project ids, in order
    marked_ids = sorted(i["project_id"] for i in third["items"])
    assert finalised[0]["after"]["sha256"] == hashlib.sha256(
        json.dumps(marked_ids, separators=(",", ":")).encode()).hexdigest()

    # a project in a final plan is never in another version: a later plan of the edition leaves it alone
    batch = city.post(f"{D}/plans", json={"budget": "99999999.00"})
    assert batch.status_code == 201
    assert not {p["id"] for p in projects[:2]} & ({i["project_id"] for i in batch.json()["items"]}
                                                  | {o["project_id"] for o in batch.json()["left_out"]})
    listed = city.get(f"{D}/plans", params={"status": "final", "limit": 200}).json()["items"]
    assert third_id in [p["id"] for p in listed]


def test_every_change_is_in_an_audit_trail_that_the_api_cannot_alter(system):
    project = take_over(system, [passed_application(system)])[0]
    city = system.client_for("city_officer", "officer-wang")
    city.post(f"{D}/projects/{project['id']}/auditor", json={"auditor": "auditor-trail"})
    events = city.get("/api/v1/disbursement/audit-events",
                      params={"resource_type": "project", "resource_id": project["id"]}).json()["items"]
    assigned = next(e for e in events if e["action"] == "update" and "auditor" in e["after"])
    assert (assigned["actor"], assigned["role"]) == ("officer-wang", "city_officer")
    assert assigned["before"]["auditor"] is None and assigned["after"]["auditor"] == "auditor-trail"
    assert assigned["request_id"] and assigned["occurred_at"].startswith("2025-12-10")
    assert "bank_account_number" not in assigned["after"] or assigned["after"]["bank_account_number"] == "***"
    created = next(e for e in events if e["action"] == "create")
    assert created["after"]["bank_account_number"] == "***"
    for method in ("PUT", "PATCH", "DELETE"):
        assert city.request(method, f"/api/v1/disbursement/audit-events/{assigned['seq']}").status_code in (404, 405)
    assert system.client_for("auditor").get("/api/v1/disbursement/audit-events").status_code == 403
    assert city.get("/api/v1/disbursement/audit-events/verify").json()["valid"] is True
