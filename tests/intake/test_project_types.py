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
    "brand:group_a": (lambda: {"f1_commitment": F1, "offshore_execution": {"approved_usd": "1000000.00"},
                               "award": {"title": "iaop_rising_star", "awarded_on": "2024-06-01",
                                         "certificate_no": "IAOP-2024-001"}}, "100000.00"),
    "brand:training": (lambda: {"f1_commitment": F1, "award": {"title": "cipa_training_leader"},
                                "f7_training_institution": {"institution_name": "大连某培训学校", "trainee_total": 1,
                                                            "legal_representative": "王五", "address": "大连市"},
                                "f8_trainees": [{"line_no": 1, "name": "李四", "national_id": "11010519491231002X",
                                                 "school": "大连理工大学", "graduated_on": "2024-07-01",
                                                 "degree": "本科", "course": "软件测试", "hours": "40"}]},
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


def required_kinds(project_type: str, content: dict) -> list[str]:
    """The document kinds the edition asks of a type (and, for a brand, of its title)."""
    edition = load_edition("2024")
    kinds = list(edition.value(f"materials.{project_type}"))
    title = (content.get("award") or {}).get("title")
    if project_type == "brand":
        kinds += edition.value(f"materials.brand_by_title.{title}")
    return kinds


@pytest.mark.parametrize("variant", sorted(CONTENTS))
def test_every_project_type_from_draft_to_priced(system, variant):
    project_type = variant.split(":")[0]
    unit = new_uscc()
    client = system.client_for("applicant", f"unit-{unit}", unit_uscc=unit)
    applicant = client.post("/api/v1/intake/applicants", json=applicant_body(unit)).json()
    if project_type.startswith("tcm"):
        system.client_for("city_officer").post("/api/v1/eligibility/registries/recognised-bases",
                                               json=[{"uscc": unit, "base_name": "大连中医药基地"}])
    build, amount = CONTENTS[variant]
    content = build()
    if "f2_platform" in content:  # every unit's platform has its own name (the same one twice is N3.3)
        content["f2_platform"]["platform_name"] += unit
    created = client.post("/api/v1/intake/applications", json={"applicant_id": applicant["id"],
                                                              "project_type": project_type, "content": content})
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["status"], draft["version"], draft["evaluation_status"]) == ("draft", 1, "not_requested")
    app_id = draft["id"]
    kinds = required_kinds(project_type, content)
    for kind in kinds:
        uploaded = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                               params={"kind": kind, "filename": f"{kind}.pdf"}, content=pdf_bytes(kind))
        assert uploaded.status_code == 201, uploaded.text
    listed = client.get(f"/api/v1/intake/applications/{app_id}/documents").json()
    assert sorted(d["kind"] for d in listed) == sorted(kinds)
    submitted = client.post(f"/api/v1/intake/applications/{app_id}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["submitted_at"].startswith("2025-12-10T02:00:00")  # the programme's clock, in UTC
    assert submitted.json()["evaluation_status"] in ("pending", "done")
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{app_id}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "eligible", done["evaluation"]["checks"]
    assert done["computation"]["amount"] == amount
    assert done["evaluation_attempts"] >= 1 and done["evaluation_error"] is None
    # frozen: neither its forms nor its documents change any more
    assert client.put(f"/api/v1/intake/applications/{app_id}/content",
                      json={"content": content}).status_code == 409
    assert client.delete(f"/api/v1/intake/applications/{app_id}/documents/{listed[0]['id']}").status_code == 409


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
