"""District review to the city: the summary table (附件2) and the stamped sending, inside the deadlines."""
from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from ..factories import PLATFORM_MATERIALS, applicant_body, new_uscc, pdf_bytes, platform_construction_content
from ..test_slice import submitted_platform_application, wait_for
from .test_project_types import CONTENTS

CERTIFICATION_MATERIALS = ["application_report", "business_licence", "special_audit_report", "contract",
                           "foreign_income_declaration", "commitment_letter", "certificate", "invoice"]


def test_summary_table_and_the_stamped_sending_to_the_city(system):
    district = "210211"
    client, applicant, application = submitted_platform_application(system, district=district)
    officer = system.client_for("district_officer", "officer-210211", district_code=district)
    wait_for(lambda: officer.get(f"/api/v1/intake/applications/{application['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    assert officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                        json={"decision": "pass"}).status_code == 200
    table = officer.get(f"/api/v1/intake/districts/{district}/summary", params={"format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["申报单位", "统一社会信用代码", "项目类型"]
    assert [applicant["name"], applicant["uscc"], "平台建设", "20.0000", "100000.00", "甘井子区", "2025-12-10"] in rows
    workbook = load_workbook(io.BytesIO(officer.get(f"/api/v1/intake/districts/{district}/summary",
                                                    params={"format": "xlsx"}).content))
    assert [c.value for c in workbook.active[3]][:2] == [applicant["name"], applicant["uscc"]]
    other = system.client_for("district_officer", district_code="210202")
    assert other.get(f"/api/v1/intake/districts/{district}/summary").status_code == 404
    sent = officer.post(f"/api/v1/intake/districts/{district}/submissions")
    assert sent.status_code == 201 and sent.json()["project_count"] >= 1
    assert officer.post(f"/api/v1/intake/districts/{district}/submissions").status_code == 409


def test_deadlines_are_end_of_day_in_china(system):
    # the same intake, on the same database, at three other instants of the programme's clock
    late = system.spawn("intake", INTAKE_FIXED_NOW="2025-12-23T00:00:00+08:00")
    early = system.spawn("intake", INTAKE_FIXED_NOW="2025-12-22T23:59:59+08:00")
    after = system.spawn("intake", INTAKE_FIXED_NOW="2025-12-30T08:00:00+08:00")
    try:
        unit = new_uscc()
        token = {"Authorization": f"Bearer {system.token('applicant', unit_uscc=unit)}"}
        with httpx.Client(base_url=late.url, headers=token) as client:
            applicant = client.post("/applicants", json=applicant_body(unit)).json()
            app_ids = []
            for _ in range(2):
                created = client.post("/applications", json={
                    "applicant_id": applicant["id"], "project_type": "certification",
                    "content": CONTENTS["certification"][0]()})
                app_ids.append(created.json()["id"])
                for kind in CERTIFICATION_MATERIALS:
                    client.post(f"/applications/{app_ids[-1]}/documents", params={"kind": kind, "filename": "x.pdf"},
                                content=pdf_bytes(kind))
            refused = client.post(f"/applications/{app_ids[0]}/submit")
            assert refused.status_code == 409 and refused.json()["clause"] == "N3.5"
            assert "2025-12-22" in refused.json()["detail"]
        with httpx.Client(base_url=early.url, headers=token) as client:
            assert client.post(f"/applications/{app_ids[1]}/submit").status_code == 200
        officer = {"Authorization": f"Bearer {system.token('district_officer', district_code='210283')}"}
        with httpx.Client(base_url=after.url, headers=officer) as client:
            too_late = client.post("/districts/210283/submissions")
            assert too_late.status_code == 409 and too_late.json()["clause"] == "N4.1"
    finally:
        for process in (late, early, after):
            process.stop()


def test_submission_needs_every_required_document(system):
    unit = new_uscc()
    client = system.client_for("applicant", unit_uscc=unit)
    applicant = client.post("/api/v1/intake/applicants", json=applicant_body(unit)).json()
    app_id = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction",
        "content": platform_construction_content()}).json()["id"]
    for kind in PLATFORM_MATERIALS[:-1]:
        client.post(f"/api/v1/intake/applications/{app_id}/documents", params={"kind": kind, "filename": "a.pdf"},
                    content=pdf_bytes(kind))
    refused = client.post(f"/api/v1/intake/applications/{app_id}/submit")
    assert refused.status_code == 422 and refused.json()["missing_documents"] == ["special_audit_report"]
    assert refused.json()["clause"] == "G1.4"


def test_more_than_five_certifications_is_a_422_that_says_five(system):
    unit = new_uscc()
    client = system.client_for("applicant", unit_uscc=unit)
    applicant = client.post("/api/v1/intake/applicants", json=applicant_body(unit)).json()
    items = [{"line_no": i, "scheme": "CMMI", "kind": "new", "certified_on": "2024-05-01", "fee": "1000.00",
              "requested": "700.00"} for i in range(1, 7)]
    response = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "certification", "content": {"f5_certifications": items}})
    assert response.status_code == 422 and "At most 5" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body.content.f5_certifications"


def test_drafts_keep_their_versions_and_submitted_applications_are_frozen(system):
    client, _, application = submitted_platform_application(system)
    frozen = client.put(f"/api/v1/intake/applications/{application['id']}/content",
                        json={"content": platform_construction_content()})
    assert frozen.status_code == 409
    upload = client.post(f"/api/v1/intake/applications/{application['id']}/documents",
                         params={"kind": "invoice", "filename": "late.pdf"}, content=pdf_bytes())
    assert upload.status_code == 409


def test_trainee_ids_and_bank_accounts_are_masked_for_most_roles(system):
    unit = new_uscc()
    client = system.client_for("applicant", unit_uscc=unit)
    applicant = client.post("/api/v1/intake/applicants", json=applicant_body(unit)).json()
    assert applicant["bank_account_number"] == "6217***********8901"
    trainee = {"line_no": 1, "name": "李四", "national_id": "11010519491231002X"}
    created = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "brand",
        "content": {"award": {"title": "cipa_training_leader"}, "f8_trainees": [trainee]}}).json()
    assert created["content"]["f8_trainees"][0]["national_id"] == "110105********002X"
    versions = client.get(f"/api/v1/intake/applications/{created['id']}/versions").json()
    assert versions[0]["content"]["f8_trainees"][0]["national_id"] == "110105********002X"
    dossier_url = f"/api/v1/intake/applications/{created['id']}/dossier"
    for reader in (client, system.client_for("city_officer"), system.client_for("district_officer",
                                                                                  district_code="210202")):
        assert reader.get(dossier_url).json()["content"]["f8_trainees"][0]["national_id"] == "110105********002X"
    assert system.client_for("district_officer", district_code="210203").get(dossier_url).status_code == 404
    service_dossier = system.client_for("service").get(dossier_url).json()
    assert service_dossier["content"]["f8_trainees"][0]["national_id"] == "11010519491231002X"
    assert service_dossier["applicant"]["uscc"] == unit and service_dossier["submitted_at"] is None
    audit = system.client_for("city_officer").get("/api/v1/intake/audit-events", params={
        "resource_type": "application", "resource_id": created["id"]}).json()["items"]
    assert audit and all(e["after"]["content"] == "***" for e in audit if "content" in e["after"])
    finance = system.client_for("finance_officer")
    assert finance.get(f"/api/v1/intake/applicants/{applicant['id']}").json()["bank_account_number"] == \
        "6217000012345678901"
    bad = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "brand",
        "content": {"f8_trainees": [{**trainee, "national_id": "110105194912310021"}]}})
    assert bad.status_code == 422 and "national_id" in bad.json()["errors"][0]["field"]
