"""From district-passed projects to a final plan: scaling to the fund, public notice, objections, versions."""
from __future__ import annotations

from decimal import Decimal

import httpx

from ..test_slice import submitted_platform_application, wait_for


def passed_application(system, district: str = "210212") -> dict:
    """A submitted application, evaluated and passed by its district."""
    client, _, application = submitted_platform_application(system, district=district)
    wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    officer = system.client_for("district_officer", district_code=district)
    assert officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                        json={"decision": "pass"}).status_code == 200
    return application


def test_plan_scaled_to_the_fund_published_objected_republished_and_final(system):
    first, second = passed_application(system), passed_application(system)
    city = system.client_for("city_officer")
    imported = city.post("/api/v1/disbursement/projects/import").json()
    assert imported["imported"] >= 2
    assert city.post("/api/v1/disbursement/projects/import").json()["imported"] == 0  # idempotent

    draft = city.post("/api/v1/disbursement/plans", json={"edition": "2024", "budget": "1000000.00"}).json()
    requested = sum(Decimal(i["capped_amount"]) for i in draft["items"])
    budget = (requested * Decimal("0.6")).quantize(Decimal("0.01")) + Decimal("0.01")
    plan = city.post("/api/v1/disbursement/plans", json={"edition": "2024", "budget": f"{budget}"}).json()
    assert plan["version"] == draft["version"] + 1 and plan["status"] == "draft"
    assert Decimal(plan["total"]) == budget == sum(Decimal(i["allocated_amount"]) for i in plan["items"])
    assert all(Decimal(i["allocated_amount"]) <= Decimal(i["capped_amount"]) for i in plan["items"])
    ours = {i["application_id"]: i for i in plan["items"]}
    assert {first["id"], second["id"]} <= set(ours)

    published = city.post(f"/api/v1/disbursement/plans/{plan['id']}/publish").json()
    # published Wednesday 2025-12-10: five PRC working days end on Wednesday 2025-12-17
    assert (published["published_on"], published["notice_ends_on"]) == ("2025-12-10", "2025-12-17")
    early = city.post(f"/api/v1/disbursement/plans/{plan['id']}/finalise")
    assert early.status_code == 409 and "2025-12-17" in early.json()["detail"] and early.json()["clause"] == "N4.4"

    objector = system.client_for("applicant", unit_uscc=ours[first["id"]]["uscc"])
    objection = objector.post(f"/api/v1/disbursement/plans/{plan['id']}/objections", json={
        "project_id": ours[second["id"]]["project_id"], "statement": "该单位平台未实际运营",
        "evidence": "/api/v1/intake/applications/x/documents/y/content"}).json()
    assert objection["status"] == "open" and objection["evidence"].endswith("/content")

    later = system.spawn("disbursement", DISBURSEMENT_FIXED_NOW="2025-12-18T09:00:00+08:00")
    try:
        with httpx.Client(base_url=later.url, headers=city.headers) as after_notice:
            blocked = after_notice.post(f"/plans/{plan['id']}/finalise")
            assert blocked.status_code == 409 and objection["id"] in blocked.json()["detail"]
            resolved = city.post(f"/api/v1/disbursement/objections/{objection['id']}/resolve", json={
                "decision": "upheld", "resolution": "核实后调减", "new_amount": "50000.00"}).json()
            assert resolved["status"] == "upheld" and resolved["new_plan_id"], resolved
            old = city.get(f"/api/v1/disbursement/plans/{plan['id']}").json()
            assert old["status"] == "superseded"
            new = city.get(f"/api/v1/disbursement/plans/{resolved['new_plan_id']}").json()
            assert new["previous_id"] == plan["id"] and new["status"] == "draft"
            changed = next(i for i in new["items"] if i["application_id"] == second["id"])
            assert changed["computed_amount"] == "50000.00"
            assert Decimal(new["total"]) <= budget
            city.post(f"/api/v1/disbursement/plans/{new['id']}/publish")
            final = after_notice.post(f"/plans/{new['id']}/finalise")
            assert final.status_code == 200 and final.json()["status"] == "final"
    finally:
        later.stop()
    exported = city.get(f"/api/v1/disbursement/plans/{new['id']}/export", params={"format": "csv"})
    assert exported.status_code == 200 and ours[first["id"]]["uscc"] in exported.content.decode("utf-8-sig")
    events = city.get("/api/v1/disbursement/audit-events", params={"resource_type": "plan"}).json()["items"]
    assert {"create", "update"} <= {e["action"] for e in events}
    assert city.get("/api/v1/disbursement/audit-events/verify").json()["valid"] is True
