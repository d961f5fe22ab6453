"""Every refusal of the intake issue through the gateway: registration, applications, forms, documents, review."""
from __future__ import annotations

import socket

from ..factories import applicant_body, new_uscc, pdf_bytes, platform_construction_content
from ..test_slice import register, submitted_platform_application
from .test_project_types import CONTENTS, F1
from .test_uploads import stored_objects

API = "/api/v1/intake"


def problem(response, status: int) -> dict:
    """The problem document of a refusal, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def read_answer(sock: socket.socket) -> str:
    """An HTTP answer read off a socket: its head and its Content-Length worth of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (more := sock.recv(65536)):
        body += more
    return (head + b"\r\n\r\n" + body).decode(errors="replace")


def draft(client, applicant: dict, project_type: str, content: dict | None = None):
    """Create a draft application; the raw response."""
    return client.post(f"{API}/applications", json={"applicant_id": applicant["id"], "project_type": project_type,
                                                    **({"content": content} if content is not None else {})})


def test_registration_rules(system):
    unit = new_uscc()
    client = system.client_for("applicant", unit_uscc=unit)
    other = new_uscc()
    refused = problem(client.post(f"{API}/applicants", json=applicant_body(other)), 403)
    assert unit in refused["detail"] and other in refused["detail"]
    bad_district = problem(client.post(f"{API}/applicants", json=applicant_body(unit, "110105")), 422)
    assert bad_district["errors"][0]["field"] == "body.district_code"
    float_money = problem(client.post(f"{API}/applicants", json={**applicant_body(unit), "registered_capital": 5e6}),
                          422)
    assert float_money["errors"][0]["field"] == "body.registered_capital"
    # a leading zone is a registration district of its own; its officer sees its units
    zone = client.post(f"{API}/applicants", json=applicant_body(unit, "210231"))
    assert zone.status_code == 201 and zone.json()["district_name"] == "大连高新技术产业园区"
    assert zone.json()["needs_review"] == []
    officer = system.client_for("district_officer", district_code="210231")
    assert officer.get(f"{API}/applicants/{zone.json()['id']}").status_code == 200
    assert problem(system.client_for("district_officer", district_code="210202")
                   .get(f"{API}/applicants/{zone.json()['id']}"), 404)
    kinds = {d["code"]: d["kind"] for d in client.get(f"{API}/districts").json()}
    assert kinds["210231"] == "leading_zone" and kinds["210283"] == "county_level_city" and len(kinds) == 13
    # registered at provincial level (division 210000): accepted, marked for review (POLICY.md, Decision)
    provincial = new_uscc("210000")
    city = system.client_for("city_officer")
    outside = city.post(f"{API}/applicants", json=applicant_body(provincial))
    assert outside.status_code == 201
    assert outside.json()["uscc_division_code"] == "210000" and "210000" in outside.json()["needs_review"][0]
    assert city.get(f"{API}/applicants", params={"uscc": provincial}).json()["total"] == 1
    in_zone = city.get(f"{API}/applicants", params={"district_code": "210231", "limit": 200}).json()["items"]
    assert zone.json()["id"] in [a["id"] for a in in_zone] and {a["district_code"] for a in in_zone} == {"210231"}
    assert officer.get(f"{API}/applicants").json()["items"][0]["bank_account_number"].startswith("6217****")
    # units by id (what disbursement's import reads, a hundred at a time), within the caller's scope
    both = [zone.json()["id"], outside.json()["id"]]
    assert {a["id"] for a in city.get(f"{API}/applicants", params={"id": both}).json()["items"]} == set(both)
    assert [a["id"] for a in officer.get(f"{API}/applicants", params={"id": both}).json()["items"]] == both[:1]
    assert problem(city.get(f"{API}/applicants", params={"id": ["x" * 65]}), 422)
    assert problem(city.post(f"{API}/applicants", json=applicant_body(provincial)), 409)


def test_one_project_per_unit_and_edition_cites_its_clause(system):
    client, applicant = register(system)
    for project_type, clause in (("platform_operation", "G1.3.2"), ("brand", "G3.2")):
        assert draft(client, applicant, project_type).status_code == 201
        refused = problem(draft(client, applicant, project_type), 409)
        assert refused["clause"] == clause and refused["existing_application_id"]
    # certifications and interest subsidies have no such limit
    assert draft(client, applicant, "certification").status_code == 201
    assert draft(client, applicant, "certification").status_code == 201
    # another unit's applicant account cannot apply for this unit
    stranger, _ = register(system)
    assert problem(draft(stranger, applicant, "certification"), 404)


def test_form_rules(system):
    client, applicant = register(system)
    line = {"line_no": 1, "content": "服务器", "expense_kind": "server", "contract_amount": "100.00",
            "invoice_amount": "100.00", "paid_amount": "100.00", "invoice_number": "1", "invoice_date": "2024-01-02"}
    refused = problem(draft(client, applicant, "platform_operation", {"f3_expenses": [line]}), 422)
    assert refused["clause"] == "G1.3.2" and refused["errors"][0]["field"] == "body.content.f3_expenses.0.expense_kind"
    # self-developed software is accepted on F3 so that the calculation can say why it does not count (G1.3.1)
    own = draft(client, applicant, "platform_construction",
                {"f3_expenses": [{**line, "expense_kind": "software_development_self"}]})
    assert own.status_code == 201
    three_places = problem(draft(client, applicant, "certification",
                                 {"f5_certifications": [{"line_no": 1, "scheme": "CMMI", "kind": "new",
                                                         "certified_on": "2024-05-01", "fee": "1.005",
                                                         "requested": "0.70"}]}), 422)
    assert three_places["errors"][0]["field"].endswith("fee")
    typo = problem(draft(client, applicant, "certification", {"f1_commitment": {**F1, "signatry": "x"}}), 422)
    assert typo["errors"][0]["field"].endswith("signatry")
    bad_firm = problem(draft(client, applicant, "certification",
                             {"f4_served_firms": [{"line_no": 1, "name": "x", "uscc": "91210202MA0QXXXXX0"}]}), 422)
    assert "uscc" in bad_firm["errors"][0]["field"]
    currency = problem(draft(client, applicant, "interest_subsidy", {"f9_interest_contracts": [{
        **CONTENTS["interest_subsidy"][0]()["f9_interest_contracts"][0], "receipt_currency": "dollars"}]}), 422)
    assert currency["errors"][0]["field"].endswith("receipt_currency")
    edition = problem(client.post(f"{API}/applications", json={"applicant_id": applicant["id"], "edition": "1999",
                                                               "project_type": "certification"}), 422)
    assert "1999" in edition["detail"]
    assert problem(draft(client, applicant, "tourism"), 422)["errors"][0]["field"] == "body.project_type"
    twice = problem(draft(client, applicant, "platform_construction", {"f3_expenses": [line, line]}), 422)
    assert "line numbers (序号) repeat: 1" in twice["detail"]


def test_five_certifications_per_unit_across_its_applications(system):
    client, applicant = register(system)

    def items(count: int) -> list[dict]:
        return [{"line_no": i, "scheme": "ISO9001", "kind": "new", "certified_on": "2024-05-01", "fee": "1000.00",
                 "requested": "700.00"} for i in range(1, count + 1)]

    first = draft(client, applicant, "certification", {"f5_certifications": items(3)}).json()
    refused = problem(draft(client, applicant, "certification", {"f5_certifications": items(3)}), 422)
    assert refused["clause"] == "G2.2" and "other applications list 3" in refused["detail"]
    assert draft(client, applicant, "certification", {"f5_certifications": items(2)}).status_code == 201
    # the first one may be corrected within the limit, never beyond it
    url = f"{API}/applications/{first['id']}/content"
    assert client.put(url, json={"content": {"f5_certifications": items(2)}}).status_code == 200
    assert problem(client.put(url, json={"content": {"f5_certifications": items(4)}}), 422)["clause"] == "G2.2"


def test_submission_refuses_unfilled_forms_and_missing_title_materials(system):
    client, applicant = register(system)
    app_id = draft(client, applicant, "brand", {"f1_commitment": F1,
                                                "award": {"title": "cipa_training_leader"}}).json()["id"]
    for kind in ("business_licence", "commitment_letter", "award_certificate", "school_licence"):
        client.post(f"{API}/applications/{app_id}/documents", params={"kind": kind, "filename": f"{kind}.pdf"},
                    content=pdf_bytes(kind))
    unfilled = problem(client.post(f"{API}/applications/{app_id}/submit"), 422)
    assert unfilled["missing_sections"] == ["f7_training_institution", "f8_trainees"]
    assert unfilled["clause"] == "G3.3"
    content = CONTENTS["brand:training"][0]()
    assert client.put(f"{API}/applications/{app_id}/content", json={"content": content}).status_code == 200
    missing = problem(client.post(f"{API}/applications/{app_id}/submit"), 422)
    assert missing["missing_documents"] == ["faculty", "curriculum"] and missing["clause"] == "G3.3"
    unknown_kind = problem(client.post(f"{API}/applications/{app_id}/documents",
                                       params={"kind": "selfie", "filename": "me.png"}, content=pdf_bytes()), 422)
    assert unknown_kind["errors"][0]["field"] == "query.kind"
    nothing = problem(client.post(f"{API}/applications/{app_id}/submit"), 422)
    assert client.get(f"{API}/applications/{app_id}").json()["status"] == "draft" and nothing["missing_documents"]
    versions = client.get(f"{API}/applications/{app_id}/versions").json()
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["content"]["f8_trainees"][0]["national_id"]


def test_documents_of_a_draft_are_deleted_with_their_object(system):
    client, applicant = register(system)
    app_id = draft(client, applicant, "platform_construction").json()["id"]
    before = stored_objects(system)
    url = f"{API}/applications/{app_id}/documents"
    doc = client.post(url, params={"kind": "invoice", "filename": "发票.png"},
                      content=b"\x89PNG\r\n\x1a\n" + bytes(64)).json()
    assert doc["media_type"] == "image/png" and stored_objects(system) == before + 1
    jpeg = client.post(url, params={"kind": "invoice", "filename": "发票.jpg"}, content=b"\xff\xd8\xff\xe0" + bytes(64),
                       headers={"Content-Type": "application/pdf"})  # what the client says does not count
    assert jpeg.json()["media_type"] == "image/jpeg"
    officer = system.client_for("district_officer", district_code="210202")
    assert problem(officer.delete(f"{url}/{doc['id']}"), 403)
    assert client.delete(f"{url}/{doc['id']}").status_code == 204
    assert stored_objects(system) == before + 1
    assert problem(client.get(f"{url}/{doc['id']}/content"), 404)
    assert [d["id"] for d in client.get(url).json()] == [jpeg.json()["id"]]
    # a body declared larger than the limit is refused before any of it is read (asked of intake itself: the
    # gateway relays an answer once it has passed the body on, and this client never sends the rest)
    with socket.create_connection(("127.0.0.1", system.processes["intake"].port), timeout=10) as sock:
        sock.sendall((f"POST {url.removeprefix(API)}?kind=invoice&filename=big.pdf HTTP/1.1\r\nHost: test\r\n"
                      f"Authorization: {client.headers['Authorization']}\r\n"
                      f"Content-Length: {220 * 1024 * 1024}\r\n\r\n").encode() + pdf_bytes())
        answer = read_answer(sock)
    assert answer.startswith("HTTP/1.1 413") and '"limit_bytes":220200960' in answer.replace(" ", "")
    assert stored_objects(system) == before + 1


def test_review_rules_and_district_scope(system):
    client, applicant, application = submitted_platform_application(system, district="210212")
    app_url = f"{API}/applications/{application['id']}"
    officer = system.client_for("district_officer", "officer-210212", district_code="210212")
    stranger = system.client_for("district_officer", "officer-210281", district_code="210281")
    for path in ("", "/documents", "/versions", "/reviews"):
        assert problem(stranger.get(app_url + path), 404)
    assert problem(stranger.post(f"{app_url}/review", json={"decision": "pass"}), 404)
    assert problem(stranger.get(f"{API}/applicants/{applicant['id']}"), 404)
    assert problem(system.client_for("city_officer").post(f"{app_url}/review", json={"decision": "pass"}), 403)
    assert problem(client.post(f"{app_url}/review", json={"decision": "pass"}), 403)
    assert problem(officer.post(f"{app_url}/review", json={"decision": "return", "reason": "  "}), 422)
    assert problem(officer.post(f"{app_url}/review", json={"decision": "maybe"}), 422)
    assert problem(client.post(f"{app_url}/submit"), 409)  # already submitted
    rejected = officer.post(f"{app_url}/review", json={"decision": "reject", "reason": "非本辖区实际经营"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert problem(officer.post(f"{app_url}/review", json={"decision": "pass"}), 409)  # decided: final
    assert problem(client.post(f"{app_url}/submit"), 409)
    assert problem(client.put(f"{app_url}/content", json={"content": platform_construction_content()}), 409)
    reviews = officer.get(f"{app_url}/reviews").json()
    assert [(r["decision"], r["reason"], r["decided_by"]) for r in reviews] == [
        ("reject", "非本辖区实际经营", "officer-210212")]
    # drafts too are listed to their district only (the scope is in the query, whatever the filters)
    other_client, other = register(system, "210212")
    mine = draft(other_client, other, "certification").json()
    listed = officer.get(f"{API}/applications", params={"status": "draft"}).json()
    assert mine["id"] in [a["id"] for a in listed["items"]]
    assert mine["id"] not in [a["id"] for a in stranger.get(f"{API}/applications").json()["items"]]


def test_listings_filter_sort_and_page(system):
    district = "210224"
    officer = system.client_for("district_officer", district_code=district)
    city = system.client_for("city_officer")
    in_district = city.get(f"{API}/applications", params={"district_code": district, "status": "draft"}).json()
    client, applicant = register(system, district)
    ids = sorted(draft(client, applicant, "certification", {"f1_commitment": F1}).json()["id"] for _ in range(3))
    draft(client, applicant, "brand")
    # the programme's clock is fixed in tests: equal instants are ordered by id, page after page
    mine = {"applicant_id": applicant["id"], "project_type": "certification", "limit": 2, "sort": "created_at"}
    page = officer.get(f"{API}/applications", params={**mine, "edition": "2024"}).json()
    assert page["total"] == 3 and [a["id"] for a in page["items"]] == ids[:2]
    rest = officer.get(f"{API}/applications", params={**mine, "offset": 2}).json()
    assert [a["id"] for a in rest["items"]] == ids[2:]
    everything = client.get(f"{API}/applications", params={"sort": "-updated_at"}).json()
    assert everything["total"] == 4 and {a["project_type"] for a in everything["items"]} == {"certification", "brand"}
    by_district = city.get(f"{API}/applications", params={"district_code": district, "status": "draft"}).json()
    assert by_district["total"] == in_district["total"] + 4
    assert officer.get(f"{API}/applications", params={"applicant_id": applicant["id"],
                                                      "edition": "2023"}).json()["total"] == 0
    outsider = system.client_for("district_officer", district_code="210202")
    assert outsider.get(f"{API}/applications", params={"applicant_id": applicant["id"]}).json()["total"] == 0
    assert problem(city.get(f"{API}/applications", params={"status": "lost"}), 422)
    assert problem(city.get(f"{API}/applications", params={"limit": 0}), 422)
    assert problem(city.get(f"{API}/applications", params={"sort": "name"}), 422)
