"""Walks the role matrix (x-roles of every operation in the merged OpenAPI document) and asserts every cell:
an allowed role is never answered 401/403/404, a refused one gets 403 or 404 and no data."""
from __future__ import annotations

import re

from common.auth import ROLES

from .factories import pdf_bytes
from .test_slice import submitted_platform_application, wait_for

HUMAN_ROLES = [r for r in ROLES if r != "service"]
DISTRICT = "210204"


def _fixture(system) -> dict[str, str]:
    """Real resources to put in the paths, owned by one unit of one district."""
    client, applicant, application = submitted_platform_application(system, district=DISTRICT)
    draft = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "certification"}).json()
    admin = system.client_for("admin")
    user = admin.post("/auth/users", json={"username": f"matrix-{applicant['uscc'][-6:]}",
                                           "password": "a long enough secret", "role": "expert"}).json()
    hook = admin.post("/api/v1/intake/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                       "event_types": ["application.submitted"]}).json()
    payments_hook = admin.post("/api/v1/disbursement/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                                      "event_types": ["plan.published"]}).json()
    document = client.get(f"/api/v1/intake/applications/{application['id']}/documents").json()[0]
    officer = system.client_for("district_officer", district_code=DISTRICT)
    wait_for(lambda: officer.get(f"/api/v1/intake/applications/{application['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    officer.post(f"/api/v1/intake/applications/{application['id']}/review", json={"decision": "pass"})
    city = system.client_for("city_officer")
    city.post("/api/v1/disbursement/projects/import")
    project = city.get("/api/v1/disbursement/projects", params={"application_id": application["id"]}).json()["items"][0]
    # plans hold audited projects only (N4.2); the matrix's auditor is the one assigned
    city.post(f"/api/v1/disbursement/projects/{project['id']}/auditor", json={"auditor": "matrix-auditor"})
    system.client_for("auditor", "matrix-auditor").post(f"/api/v1/disbursement/projects/{project['id']}/audit",
                                                        json={"opinion": "pass"})
    plan = city.post("/api/v1/disbursement/plans", json={"budget": "100000000.00"}).json()
    city.post(f"/api/v1/disbursement/plans/{plan['id']}/publish")
    objection = client.post(f"/api/v1/disbursement/plans/{plan['id']}/objections", json={
        "project_id": project["id"], "statement": "matrix"}).json()
    # a job is seen by whoever submitted it (and admin): each role allowed on a service's jobs gets one of its own
    matrix_city = system.client_for("city_officer", "matrix-city_officer")
    summary_jobs = f"/api/v1/intake/districts/{DISTRICT}/summary-jobs"
    jobs = {"eligibility": {"city_officer": matrix_city.post(
                "/api/v1/eligibility/registries/recognised-bases/import", json=[]).json()["id"]},
            "intake": {"city_officer": matrix_city.post(summary_jobs).json()["id"],
                       "district_officer": system.client_for(
                           "district_officer", "matrix-district_officer", district_code=DISTRICT
                       ).post(summary_jobs).json()["id"]},
            "disbursement": {"city_officer": matrix_city.post(
                f"/api/v1/disbursement/plans/{plan['id']}/export-jobs").json()["id"],
                             "finance_officer": system.client_for("finance_officer", "matrix-finance_officer").post(
                "/api/v1/disbursement/payments/statements", content=b"end_to_end_id,status\n",
                headers={"Content-Type": "text/csv"}).json()["id"]}}
    # an edition evaluated again: its applications in play (the fixture's among them) are asked once more
    reevaluation = system.client_for("city_officer").post("/api/v1/intake/editions/2024/re-evaluations",
                                                          json={"reason": "matrix"}).json()
    # payments and clawbacks refuse before looking anything up without an Idempotency-Key or a body: any id serves
    return {"reevaluation_id": reevaluation["id"], "plan_id": plan["id"], "objection_id": objection["id"], "clawback_id": "any-clawback",
            "instruction_id": "any-instruction", "project_id": project["id"],
            "spot_check_id": "any-spot-check","applicant_id": applicant["id"], "application_id": application["id"], "draft_id": draft["id"],
            "document_id": document["id"], "district_code": DISTRICT, "edition": "2024",
            "username": user["username"], "intake_subscription_id": hook["id"],
            "disbursement_subscription_id": payments_hook["id"], "uscc": applicant["uscc"], "jobs": jobs}


def _client(system, role: str, ids: dict):
    return system.client_for(role, f"matrix-{role}", unit_uscc=ids["uscc"] if role == "applicant" else None,
                             district_code=DISTRICT if role == "district_officer" else None)


def _path(template: str, ids: dict, method: str, role: str) -> str:
    def fill(match):
        name = match.group(1)
        if name == "job_id":  # the role's own job, or any (admin sees every job; other roles are refused anyway)
            jobs = ids["jobs"][template.split("/")[3]]
            return jobs.get(role) or next(iter(jobs.values()))
        # changes to content or documents go to a draft; reading goes to the submitted application
        if name == "application_id" and (method in ("put", "delete") or template.endswith("/documents")):
            return ids["draft_id"]
        if name == "subscription_id":  # each service keeps its own subscriptions
            return ids[f"{template.split('/')[3]}_subscription_id"]
        return ids[name]
    return re.sub(r"\{(\w+)\}", fill, template)


def test_every_cell_of_the_role_matrix(system):
    ids = _fixture(system)
    doc = system.client.get("/openapi.json").json()
    clients = {role: _client(system, role, ids) for role in HUMAN_ROLES}
    failures = []
    cells = 0
    for template, item in sorted(doc["paths"].items()):
        for method, operation in item.items():
            if not isinstance(operation, dict) or "x-roles" not in operation:
                continue
            allowed = set(operation["x-roles"]) or set(HUMAN_ROLES)
            for role in HUMAN_ROLES:
                path = _path(template, ids, method, role)
                kwargs = {}
                if template.endswith("/documents") and method == "post":
                    kwargs = {"params": {"kind": "invoice", "filename": "m.pdf"}, "content": pdf_bytes()}
                elif method in ("post", "put", "patch"):
                    kwargs = {"json": {}}
                if method == "delete" and "document_id" in template:
                    # each allowed deletion needs a document of its own
                    upload = clients["applicant"].post(f"/api/v1/intake/applications/{ids['draft_id']}/documents",
                                                       params={"kind": "invoice", "filename": "d.pdf"},
                                                       content=pdf_bytes())
                    path = path.replace(ids["document_id"], upload.json()["id"])
                response = clients[role].request(method.upper(), path, **kwargs)
                cells += 1
                if role in allowed and response.status_code in (401, 403, 404):
                    failures.append(f"{role} allowed on {method.upper()} {template} but got {response.status_code}: "
                                    f"{response.text[:200]}")
                if role not in allowed and response.status_code not in (403, 404):
                    failures.append(f"{role} refused on {method.upper()} {template} but got {response.status_code}")
                if role not in allowed and response.status_code in (403, 404):
                    assert response.headers["content-type"] == "application/problem+json"
    assert cells > 300
    assert not failures, "\n".join(failures)
