"""The city's cycle driven through the gateway: district-passed projects, audits, plans, a later clock."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from common.parameters import load_edition

from ..factories import PLEDGES, applicant_body, new_uscc, pdf_bytes, platform_construction_content
from ..test_slice import wait_for

D = "/api/v1/disbursement"
# published on Wednesday 2025-12-10 (the test clock), five PRC working days end on Wednesday 2025-12-17
NOTICE_ENDS = "2025-12-17"
AFTER_NOTICE = "2025-12-18T09:00:00+08:00"


def expense(line_no: int, kind: str, amount: str) -> dict:
    """An F3 expense line invoiced inside the support period."""
    return {"line_no": line_no, "content": kind, "expense_kind": kind, "contract_amount": amount,
            "invoice_amount": amount, "paid_amount": amount, "invoice_number": f"0440{uuid.uuid4().int % 10**8:08d}",
            "invoice_date": "2024-06-01", "exhibit_page": str(line_no)}


def construction(*amounts: str) -> dict:
    """Platform construction forms (G1.3.1: 50 %, cap 200,000) with server purchases of these amounts."""
    content = platform_construction_content()
    content["f3_expenses"] = [expense(i, "server", a) for i, a in enumerate(amounts, 1)]
    return content


def operation(*amounts: str) -> dict:
    """Platform O&M forms (G1.3.2: 80 %, cap 200,000) with cloud leases of these amounts."""
    content = platform_construction_content(firms=10, completed_on="2022-03-01")
    content["f3_expenses"] = [expense(i, "cloud_lease", a) for i, a in enumerate(amounts, 1)]
    return content


@dataclass
class Unit:
    """A registered applicant unit and its own client."""

    uscc: str
    applicant_id: str
    client: httpx.Client
    district: str


def register_unit(system, district: str = "210212") -> Unit:
    """A unit registered by its own applicant account."""
    uscc = new_uscc()
    client = system.client_for("applicant", f"user-{uscc}", unit_uscc=uscc)
    created = client.post("/api/v1/intake/applicants", json=applicant_body(uscc, district))
    assert created.status_code == 201, created.text
    return Unit(uscc, created.json()["id"], client, district)


def passed_application(system, project_type: str = "platform_construction", content: dict | None = None,
                       unit: Unit | None = None, district: str = "210212") -> dict:
    """An application submitted with its materials, evaluated, priced and passed by its district (N4.1)."""
    unit = unit or register_unit(system, district)
    content = content or (construction("120000.00", "80000.00") if project_type == "platform_construction"
                          else operation("50000.00"))
    content["f2_platform"]["platform_name"] += f"-{uuid.uuid4().hex[:8]}"  # one platform, one unit (N3.3)
    content["f1_commitment"] = {"pledges": PLEDGES, "signatory": "张三", "signed_on": "2025-12-01"}
    created = unit.client.post("/api/v1/intake/applications", json={
        "applicant_id": unit.applicant_id, "project_type": project_type, "content": content})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    for kind in load_edition("2024").value(f"materials.{project_type}"):
        uploaded = unit.client.post(f"/api/v1/intake/applications/{app_id}/documents",
                                    params={"kind": kind, "filename": f"{kind}.pdf"}, content=pdf_bytes(kind),
                                    headers={"Content-Type": "application/pdf"})
        assert uploaded.status_code == 201, uploaded.text
    submitted = unit.client.post(f"/api/v1/intake/applications/{app_id}/submit")
    assert submitted.status_code == 200, submitted.text
    done = wait_for(lambda: unit.client.get(f"/api/v1/intake/applications/{app_id}").json(),
                    lambda a: a["evaluation_status"] == "done")
    officer = system.client_for("district_officer", district_code=unit.district)
    passed = officer.post(f"/api/v1/intake/applications/{app_id}/review", json={"decision": "pass"})
    assert passed.status_code == 200, passed.text
    return {**done, "uscc": unit.uscc, "unit": unit}


def take_over(system, applications: list[dict]) -> list[dict]:
    """The city imports the passed applications; their projects, in the same order."""
    city = system.client_for("city_officer")
    imported = city.post(f"{D}/projects/import")
    assert imported.status_code == 200, imported.text
    projects = []
    for application in applications:
        page = city.get(f"{D}/projects", params={"application_id": application["id"]}).json()
        assert page["total"] == 1, page
        projects.append(page["items"][0])
    return projects


def audit(system, project: dict, opinion: str = "pass", disallowed: list[dict] | None = None,
          auditor: str | None = None) -> dict:
    """Commission an auditor for the project and record its opinion (N4.2); the project as it then is."""
    auditor = auditor or f"auditor-{uuid.uuid4().hex[:6]}"
    city = system.client_for("city_officer")
    assigned = city.post(f"{D}/projects/{project['id']}/auditor", json={"auditor": auditor})
    assert assigned.status_code == 200, assigned.text
    body = {"opinion": opinion, "disallowed": disallowed or [], "note": "不予通过：材料不实" if opinion == "fail" else ""}
    recorded = system.client_for("auditor", auditor).post(f"{D}/projects/{project['id']}/audit", json=body)
    assert recorded.status_code == 200, recorded.text
    return recorded.json()


def dismiss_open_objections(system, plan: dict, keep: set[str] = frozenset()) -> None:
    """Dismiss objections other tests left open on this plan's projects (they would rightly block finalising)."""
    city = system.client_for("city_officer")
    ours = {item["project_id"] for item in plan["items"]}
    for objection in city.get(f"{D}/objections", params={"status": "open", "limit": 200}).json()["items"]:
        if objection["project_id"] in ours and objection["id"] not in keep:
            city.post(f"{D}/objections/{objection['id']}/resolve",
                      json={"decision": "dismissed", "resolution": "经核实异议不成立"})


class AfterNotice:
    """A second disbursement process on the same database with its clock past the notice, behind its own gateway."""

    def __init__(self, system) -> None:
        self.system = system
        self.disbursement = system.spawn("disbursement", DISBURSEMENT_FIXED_NOW=AFTER_NOTICE)
        self.gateway = system.spawn("gateway", GATEWAY_DISBURSEMENT_URL=self.disbursement.url)
        self._clients: list[httpx.Client] = []

    def client_for(self, role: str, subject: str | None = None, **claims) -> httpx.Client:
        """A client acting as `role` at the later gateway."""
        client = httpx.Client(base_url=self.gateway.url, timeout=30.0, headers={
            "Authorization": f"Bearer {self.system.token(role, subject, **claims)}"})
        self._clients.append(client)
        return client

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self.gateway.stop()
        self.disbursement.stop()


def finalised_plan(system, later: AfterNotice, budget: str = "99999999.00") -> dict:
    """A plan version made, published, cleared of other tests' objections and made final after its notice."""
    city = system.client_for("city_officer")
    plan = city.post(f"{D}/plans", json={"budget": budget})
    assert plan.status_code == 201, plan.text
    published = city.post(f"{D}/plans/{plan.json()['id']}/publish")
    assert published.status_code == 200, published.text
    dismiss_open_objections(system, published.json())
    final = later.client_for("city_officer").post(f"{D}/plans/{plan.json()['id']}/finalise")
    assert final.status_code == 200, final.text
    return final.json()
