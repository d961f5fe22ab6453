"""The vertical slice through the gateway: register, apply, upload, submit; evaluated and priced over HTTP."""
from __future__ import annotations

import hashlib
import time

import httpx

from .factories import PLATFORM_MATERIALS, applicant_body, new_uscc, pdf_bytes, platform_construction_content


def wait_for(fetch, until, timeout: float = 20.0):
    """Poll until a condition holds on what `fetch` returns."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"condition never held; last: {value}"
        time.sleep(0.2)


def register(system, district: str = "210202"):
    """A unit registered by its own applicant account; returns (client, applicant)."""
    unit = new_uscc()
    client = system.client_for("applicant", f"user-{unit}", unit_uscc=unit)
    response = client.post("/api/v1/intake/applicants", json=applicant_body(unit, district))
    assert response.status_code == 201, response.text
    return client, response.json()


def submitted_platform_application(system, content=None, district: str = "210202"):
    """A platform construction application, documented and submitted; returns (client, applicant, application)."""
    client, applicant = register(system, district)
    created = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction",
        "content": content or platform_construction_content()})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    for kind in PLATFORM_MATERIALS:
        uploaded = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                               params={"kind": kind, "filename": f"{kind}.pdf"}, content=pdf_bytes(kind),
                               headers={"Content-Type": "application/pdf"})
        assert uploaded.status_code == 201, uploaded.text
    submitted = client.post(f"/api/v1/intake/applications/{app_id}/submit")
    assert submitted.status_code == 200, submitted.text
    return client, applicant, submitted.json()


def test_register_apply_upload_submit_evaluate_and_list_the_amount(system):
    client, applicant, application = submitted_platform_application(system)
    assert application["status"] == "submitted" and application["submitted_at"]
    assert application["evaluation_status"] in ("pending", "done")
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "eligible", done["evaluation"]
    # 50 % of 200,000.00 of eligible purchases is 100,000.00, under the 200,000 cap (G1.3.1)
    assert done["computation"]["amount"] == "100000.00"
    steps = {s["step"]: s for s in done["computation"]["trace"]}
    assert steps["cap"]["note"] == "cap does not bind" and steps["rate"]["parameter"]["clause"] == "G1.3.1"
    city = system.client_for("city_officer")
    listed = city.get("/api/v1/disbursement/computed-amounts", params={"edition": "2024"})
    assert listed.status_code == 200, listed.text
    mine = [x for x in listed.json() if x["application_id"] == application["id"]]
    assert mine == [{"application_id": application["id"], "applicant_id": applicant["id"],
                     "project_type": "platform_construction", "status": "submitted", "outcome": "eligible",
                     "amount": "100000.00"}]


def test_a_bad_check_digit_is_a_field_level_422(system):
    unit = new_uscc()
    wrong = unit[:-1] + ("0" if unit[-1] != "0" else "1")
    client = system.client_for("applicant", unit_uscc=wrong)
    response = client.post("/api/v1/intake/applicants", json=applicant_body(wrong))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"][0]["field"] == "body.uscc" and "checksum" in body["errors"][0]["message"]


def test_a_unit_registers_once_and_one_platform_construction_per_edition(system):
    client, applicant = register(system)
    again = client.post("/api/v1/intake/applicants", json=applicant_body(applicant["uscc"]))
    assert again.status_code == 409
    body = {"applicant_id": applicant["id"], "project_type": "platform_construction",
            "content": platform_construction_content()}
    assert client.post("/api/v1/intake/applications", json=body).status_code == 201
    second = client.post("/api/v1/intake/applications", json=body)
    assert second.status_code == 409 and second.json()["clause"] == "G1.3.1"


def test_documents_are_checked_by_content_and_served_back_identical(system):
    client, applicant = register(system)
    app_id = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction"}).json()["id"]
    url = f"/api/v1/intake/applications/{app_id}/documents"
    pdf = pdf_bytes("licence")
    ok = client.post(url, params={"kind": "business_licence", "filename": "营业执照.pdf"}, content=pdf,
                     headers={"Content-Type": "application/pdf"})
    assert ok.status_code == 201 and ok.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    fake = client.post(url, params={"kind": "invoice", "filename": "x.pdf"}, content=b"MZ\x90\x00 not a pdf at all",
                       headers={"Content-Type": "application/pdf"})
    assert fake.status_code == 415
    empty = client.post(url, params={"kind": "invoice", "filename": "x.pdf"}, content=b"")
    assert empty.status_code == 422
    sneaky = client.post(url, params={"kind": "invoice", "filename": "../../etc/passwd"}, content=pdf)
    assert sneaky.status_code == 422
    listed = client.get(url).json()
    assert [d["filename"] for d in listed] == ["营业执照.pdf"]
    download = client.get(f"{url}/{listed[0]['id']}/content")
    assert download.status_code == 200 and download.content == pdf
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    other_unit, _ = register(system)
    assert other_unit.get(f"{url}/{listed[0]['id']}/content").status_code == 404


def test_district_scoping_and_review(system):
    client, applicant, application = submitted_platform_application(system, district="210203")
    stranger = system.client_for("district_officer", "officer-210202", district_code="210202")
    assert stranger.get(f"/api/v1/intake/applications/{application['id']}").status_code == 404
    assert application["id"] not in [a["id"] for a in stranger.get("/api/v1/intake/applications").json()["items"]]
    officer = system.client_for("district_officer", "officer-210203", district_code="210203")
    refused = officer.post(f"/api/v1/intake/applications/{application['id']}/review", json={"decision": "reject"})
    assert refused.status_code == 422
    passed = officer.post(f"/api/v1/intake/applications/{application['id']}/review", json={"decision": "pass"})
    assert passed.status_code == 200 and passed.json()["status"] == "district_passed"


def test_the_evaluation_is_delivered_after_the_eligibility_service_comes_back(system):
    eligibility = system.processes["eligibility"]
    eligibility.kill()
    try:
        client, _, application = submitted_platform_application(system)
        assert application["status"] == "submitted"
        retrying = wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                            lambda a: a["evaluation_status"] == "failed_retrying")
        assert retrying["evaluation"] is None
    finally:
        eligibility.start()
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "eligible"


def test_a_service_called_around_the_gateway_wants_a_token_too(system):
    response = httpx.get(f"{system.url('intake')}/applications")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_dead_service_behind_a_call_is_a_503_and_nothing_is_half_written(system):
    intake = system.processes["intake"]
    intake.kill()
    try:
        response = system.client_for("city_officer").get("/api/v1/disbursement/computed-amounts")
        assert response.status_code == 503
        assert response.json()["service"] == "intake"
    finally:
        intake.start()
