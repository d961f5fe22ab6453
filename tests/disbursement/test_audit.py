"""The city's checks: third-party audit with disallowed lines, expert scores, reproducible spot checks (N4.2, N4.3)."""
from __future__ import annotations

from .test_plans import passed_application


def test_audit_spot_check_and_expert_review(system):
    application = passed_application(system, district="210281")
    city = system.client_for("city_officer")
    city.post("/api/v1/disbursement/projects/import")
    projects = city.get("/api/v1/disbursement/projects", params={"limit": 200}).json()["items"]
    project = next(p for p in projects if p["application_id"] == application["id"])
    assert project["computed_amount"] == "100000.00" and project["auditor"] is None

    auditor = system.client_for("auditor", "auditor-a")
    stranger = system.client_for("auditor", "auditor-b")
    assert project["id"] not in [p["id"] for p in auditor.get("/api/v1/disbursement/projects").json()["items"]]
    assert city.post(f"/api/v1/disbursement/projects/{project['id']}/auditor",
                     json={"auditor": "auditor-a"}).status_code == 200
    assert [p["id"] for p in auditor.get("/api/v1/disbursement/projects").json()["items"]].count(project["id"]) == 1
    opinion = {"opinion": "pass_with_adjustments", "note": "第2行发票与合同不符",
               "disallowed": [{"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"}]}
    assert stranger.post(f"/api/v1/disbursement/projects/{project['id']}/audit", json=opinion).status_code == 404
    audited = auditor.post(f"/api/v1/disbursement/projects/{project['id']}/audit", json=opinion)
    assert audited.status_code == 200, audited.text
    assert audited.json()["audited_amount"] == "60000.00"  # 50 % of line 1 alone
    base = next(s for s in audited.json()["audit_trace"] if s["step"] == "eligible base")
    assert base["inputs"]["left_out"][0]["clause"] == "N4.2"

    first = city.post("/api/v1/disbursement/spot-checks", json={"size": 1, "seed": 20251210}).json()
    again = city.post("/api/v1/disbursement/spot-checks", json={"size": 1, "seed": 20251210}).json()
    assert first["project_ids"] == again["project_ids"] and first["id"] != again["id"]
    too_many = city.post("/api/v1/disbursement/spot-checks", json={"size": 100000, "seed": 1})
    assert too_many.status_code == 422
    sampled = first["project_ids"][0]
    changed = city.post(f"/api/v1/disbursement/spot-checks/{first['id']}/findings", json={
        "project_id": sampled, "finding": "抽查发现多报", "new_amount": "1000.00"})
    assert changed.status_code == 200 and changed.json()["audited_amount"] == "1000.00"

    conflicted = system.client_for("expert", "expert-x")
    refused = conflicted.post(f"/api/v1/disbursement/projects/{project['id']}/expert-scores",
                              json={"scores": {"创新性": 80}, "conflict_of_interest": True})
    assert refused.status_code == 409
    scored = system.client_for("expert", "expert-y").post(
        f"/api/v1/disbursement/projects/{project['id']}/expert-scores",
        json={"scores": {"创新性": 85, "示范性": 90}, "conflict_of_interest": False})
    assert scored.status_code == 201 and scored.json()["scores"] == {"创新性": 85, "示范性": 90}

    plan = city.post("/api/v1/disbursement/plans", json={"budget": "99999999.00"}).json()
    line = next(i for i in plan["items"] if i["project_id"] == project["id"])
    expected = "1000.00" if sampled == project["id"] else "60000.00"
    assert line["computed_amount"] == expected  # the plan starts from the audited amount
