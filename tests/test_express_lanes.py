"""The pre-checks' express lane (common/express.py) answers exactly as the FastAPI route does: a service with the lane
and the same service with `express_lanes` off are sent the same requests, successes and refusals alike, and agree."""
from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import pytest

from .factories import certification_dossier, new_uscc, platform_dossier

EVALUATIONS = "/evaluations"
COMPUTATIONS = "/computations"
VOLATILE = ("id", "evaluated_at", "computed_at", "request_id")  # a new id and instant, a new request id


@pytest.fixture(scope="module")
def routed(system):
    """Each pre-check service again, on the same database with the lane off: every request takes the route."""
    return {name: system.spawn(name, **{f"{name.upper()}_EXPRESS_LANES": "false"})
            for name in ("eligibility", "calculation")}


def _answer(response: httpx.Response) -> tuple:
    body = response.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VOLATILE}
    return response.status_code, response.headers["content-type"], body


def _agree(system, routed, service: str, path: str, cases: dict[str, tuple]) -> dict[str, int]:
    """Each case sent to the service's lane and to its route; the statuses, once both answers are the same."""
    statuses = {}
    for name, (body, headers) in cases.items():
        sent = {"json": body} if isinstance(body, dict) else {"content": body}
        lane = httpx.post(system.url(service) + path, headers=headers, timeout=30, **sent)
        route = httpx.post(routed[service].url + path, headers=headers, timeout=30, **sent)
        assert _answer(lane) == _answer(route), name
        statuses[name] = lane.status_code
    return statuses


def _refusals(token: dict[str, str], valid: dict) -> dict[str, tuple]:
    """Requests both pre-checks refuse, each for its own reason."""
    json_type = {**token, "Content-Type": "application/json"}
    return {"a field missing": ({"edition": "2024", "applicant": {"uscc": new_uscc()}}, token),
            "not JSON": ("{not json", json_type),
            "empty": ("", json_type),
            "unknown edition": ({**valid, "edition": "1999"}, token),
            "no token": (valid, {}),
            "a forged token": (valid, {"Authorization": "Bearer not.a.token"}),
            "not JSON by its type": ('{"edition": "2024"}', {**token, "Content-Type": "text/plain"})}


REFUSED = {"a field missing": 422, "not JSON": 422, "empty": 422, "unknown edition": 422, "no token": 401,
           "a forged token": 401, "not JSON by its type": 422}


def test_eligibility_answers_the_same_in_the_lane_and_the_route(system, routed):
    token = {"Authorization": f"Bearer {system.token('applicant', unit_uscc=new_uscc())}"}
    claimed = [f"EX{uuid.uuid4().hex[:10]}" for _ in range(2)]
    city = system.client_for("city_officer", direct="eligibility")
    submitted = city.post(EVALUATIONS, json=platform_dossier(new_uscc(), f"x-{uuid.uuid4().hex}", claimed))
    assert submitted.status_code == 200 and submitted.json()["precheck"] is False
    debarred = new_uscc()
    assert city.post("/debarments", json={"uscc": debarred, "reason": "伪造材料", "source": "test",
                                          "starts_on": "2025-01-01"}).status_code == 201
    cases = {
        "eligible": (certification_dossier(new_uscc(), "2000000.00"), token),
        "ineligible, with the figures": (certification_dossier(new_uscc(), "999999.99"), token),
        "an invoice another application claims (N3.3)": (platform_dossier(new_uscc(), invoices=claimed), token),
        "debarred (N3.2)": (certification_dossier(debarred, "2000000.00"), token),
        "charset given": ('{"edition": "2024", "project_type": "certification", "applicant": {"uscc": "x"}}',
                          {**token, "Content-Type": "application/json; charset=utf-8"}),
        **_refusals(token, certification_dossier(new_uscc(), "2000000.00"))}
    assert _agree(system, routed, "eligibility", EVALUATIONS, cases) == {
        "eligible": 200, "ineligible, with the figures": 200, "an invoice another application claims (N3.3)": 200,
        "debarred (N3.2)": 200, "charset given": 200, **REFUSED}


def test_calculation_answers_the_same_in_the_lane_and_the_route(system, routed):
    token = {"Authorization": f"Bearer {system.token('applicant', unit_uscc=new_uscc())}"}
    platform = platform_dossier(new_uscc(), invoices=["C-1", "C-2"])
    cases = {
        "a platform's amount": (platform, token),
        "a certification's amount": (certification_dossier(new_uscc(), "2000000.00"), token),
        "lines disallowed": ({**platform, "disallowed": [{"form": "f3_expenses", "line_no": 2, "reason": "笔误"}]},
                             token),
        **_refusals(token, platform)}
    assert _agree(system, routed, "calculation", COMPUTATIONS, cases) == {
        "a platform's amount": 200, "a certification's amount": 200, "lines disallowed": 200, **REFUSED}


def test_a_submission_is_left_to_the_route_and_kept(system):
    city = system.client_for("city_officer", direct="eligibility")
    application_id = f"x-{uuid.uuid4().hex}"
    answer = city.post(EVALUATIONS, json=platform_dossier(new_uscc(), application_id, [f"EX{uuid.uuid4().hex[:10]}"]))
    assert answer.status_code == 200 and answer.json()["precheck"] is False
    kept = city.get(EVALUATIONS, params={"application_id": application_id}).json()
    assert [e["id"] for e in kept["items"]] == [answer.json()["id"]]


def test_a_precheck_sees_what_the_registries_hold_the_moment_it_runs(system):
    # pre-checks read on connections kept for them: a change committed since the last one must show at once
    applicant = system.client_for("applicant", unit_uscc=new_uscc(), direct="eligibility")
    city = system.client_for("city_officer", direct="eligibility")
    unit, invoice = new_uscc(), f"EX{uuid.uuid4().hex[:10]}"
    outcomes = []
    for change in ("none", "debarred", "invoice claimed"):
        if change == "debarred":
            assert city.post("/debarments", json={"uscc": unit, "reason": "虚假发票", "source": "test",
                                                  "starts_on": "2025-06-01"}).status_code == 201
        elif change == "invoice claimed":
            other = platform_dossier(new_uscc(), f"x-{uuid.uuid4().hex}", [invoice])
            assert city.post(EVALUATIONS, json=other).json()["precheck"] is False
        checks = applicant.post(EVALUATIONS, json=platform_dossier(unit, invoices=[invoice])).json()["checks"]
        outcomes.append({c["rule"]: c["outcome"] for c in checks
                         if c["rule"] in ("credit.debarment", "duplicate.invoice_claimed_twice")})
    assert outcomes == [{"credit.debarment": "pass", "duplicate.invoice_claimed_twice": "pass"},
                        {"credit.debarment": "fail", "duplicate.invoice_claimed_twice": "pass"},
                        {"credit.debarment": "fail", "duplicate.invoice_claimed_twice": "review"}]  # N3.3


@pytest.mark.parametrize("service, path", [("eligibility", EVALUATIONS), ("calculation", COMPUTATIONS)])
def test_the_lane_keeps_the_request_id_the_access_line_and_the_route_metric(system, service, path):
    client = system.client_for("applicant", unit_uscc=new_uscc(), direct=service)
    request_id = f"lane-{uuid.uuid4().hex[:12]}"
    answer = client.post(path, json=certification_dossier(new_uscc(), "2000000.00"),
                         headers={"X-Request-ID": request_id})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id
    metrics = httpx.get(system.url(service) + "/metrics").text
    assert re.search(rf'fundflow_http_requests_total\{{[^}}]*method="POST",route="{path}",[^}}]*status="200"\}} '
                     r'[1-9]', metrics), "the lane's answers are counted under the route's template"
    line = _access_line(system, service, request_id)
    assert (line["route"], line["status"], line["method"]) == (path, 200, "POST")


def _access_line(system, service: str, request_id: str) -> dict:
    """The access line of a request, once the process has flushed it (at most 200 ms later)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for text in system.processes[service].logs().splitlines():
            if request_id in text and '"msg":"request"' in text:
                return json.loads(text)
        time.sleep(0.1)
    raise AssertionError(f"no access line with request id {request_id}")
