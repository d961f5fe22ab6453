"""Every project type created, filled, documented and submitted through the gateway, then evaluated and priced."""
from __future__ import annotations

import pytest

from common.parameters import load_edition

from ..factories import PLEDGES, applicant_body, new_uscc, pdf_bytes, platform_construction_content
from ..test_slice import wait_for

F1 = {"pledges": PLEDGES, "signatory": "张三", "signed_on": "2025-12-01"}


def _expense(kind: str, amount: str, number: str) -> dict:
    return {"line_no": 1, "content": kind, "expense_kind": kind, "contract_amount": amount, "invoice_amount": amount,
            "paid_amount": amount, "invoice_number": number, "invoice_date": "2024-06-01"}


CONTENTS = {
    "platform_construction": (lambda: platform_construction_content(), "100000.00"),
    "platform_operation": (lambda: {**platform_construction_content(firms=10, completed_on="2022-03-01"),
                                    "f3_expenses": [_expense("cloud_lease", "50000.00", "PO-1")]}, "40000.00"),
    "certification": (lambda: {"f1_commitment": F1, "offshore_execution": {"approved_usd": "2000000.00"},
                               "f5_certifications": [{"line_no": 1, "scheme": "ISO27001", "kind": "renewal",
                                                      "certified_on": "2024-08-01", "fee": "60000.00",
                                                      "requested": "42000.00"}]}, "42000.00"),
    "brand": (lambda: {"f1_commitment": F1, "award": {"title": "cipa_digital_services_cluster_park"},
                       "f6_park_enterprises": [{"line_no": 1, "name": "园区企业", "business_scope": "软件"}]},
              "100000.00"),
    "interest_subsidy": (lambda: {"f1_commitment": F1, "offshore_execution": {"approved_usd": "6000000.00"},
                                  "f9_interest_contracts": [{
                                      "line_no": 1, "contract_number": "C-9", "contract_usd": "500000.00",
                                      "executed_on": "2024-03-01", "executed_usd": "500000.00",
                                      "receipt_on": "2024-04-01", "receipt_currency": "USD",
                                      "receipt_amount": "500000.00", "declaration_no": "D-9"}]}, "111420.20"),
    "tcm_construction": (lambda: {"f1_commitment": F1,
                                  "f2_platform": {"platform_name": "中医药基地平台", "completed_on": "2024-02-01"},
                                  "tcm_base": {"base_name": "大连中医药基地", "first_application": True},
                                  "f3_expenses": [_expense("information_system", "300000.00", "TC-1")]}, "150000.00"),
    "tcm_operation": (lambda: {"f1_commitment": F1,
                               "f2_platform": {"platform_name": "中医药基地平台", "completed_on": "2021-02-01"},
                               "tcm_base": {"base_name": "大连中医药基地", "first_application": False},
                               "f3_expenses": [_expense("online_promotion", "100000.00", "TO-1")]}, "80000.00"),
}


@pytest.mark.parametrize("project_type", sorted(CONTENTS))
def test_every_project_type_from_draft_to_priced(system, project_type):
    unit = new_uscc()
    client = system.client_for("applicant", f"unit-{unit}", unit_uscc=unit)
    applicant = client.post("/api/v1/intake/applicants", json=applicant_body(unit)).json()
    if project_type.startswith("tcm"):
        system.client_for("city_officer").post("/api/v1/eligibility/registries/recognised-bases",
                                               json=[{"uscc": unit, "base_name": "大连中医药基地"}])
    build, amount = CONTENTS[project_type]
    content = build()
    if "f2_platform" in content:  # every unit's platform has its own name (the same one twice is N3.3)
        content["f2_platform"]["platform_name"] += unit
    created = client.post("/api/v1/intake/applications", json={"applicant_id": applicant["id"],
                                                              "project_type": project_type, "content": content})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    for kind in load_edition("2024").value(f"materials.{project_type}"):
        uploaded = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                               params={"kind": kind, "filename": f"{kind}.pdf"}, content=pdf_bytes(kind))
        assert uploaded.status_code == 201, uploaded.text
    assert client.post(f"/api/v1/intake/applications/{app_id}/submit").status_code == 200
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{app_id}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "eligible", done["evaluation"]["checks"]
    assert done["computation"]["amount"] == amount


def test_a_returned_application_is_corrected_and_resubmitted(system):
    from ..test_slice import submitted_platform_application
    client, _, application = submitted_platform_application(system, district="210214")
    officer = system.client_for("district_officer", district_code="210214")
    returned = officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                            json={"decision": "return", "reason": "补充服务企业合同"})
    assert returned.json()["status"] == "returned"
    updated = client.put(f"/api/v1/intake/applications/{application['id']}/content",
                         json={"content": platform_construction_content(firms=6)})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    versions = client.get(f"/api/v1/intake/applications/{application['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["changed_by"].startswith("user-")
    assert client.post(f"/api/v1/intake/applications/{application['id']}/submit").json()["status"] == "submitted"
    reviews = client.get(f"/api/v1/intake/applications/{application['id']}/reviews").json()
    assert [(r["decision"], r["reason"]) for r in reviews] == [("return", "补充服务企业合同")]
    oldest = officer.get("/api/v1/intake/applications", params={"sort": "created_at", "limit": 1}).json()
    newest = officer.get("/api/v1/intake/applications", params={"sort": "-created_at", "limit": 1}).json()
    assert oldest["total"] == newest["total"] >= 1
