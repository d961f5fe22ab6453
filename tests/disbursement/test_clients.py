"""Disbursement's calls to intake, calculation and eligibility, against stand-ins: answers read into models, every
failure of a callee a 503/504 or a 422 problem naming it (never a 500), only idempotent calls retried."""
from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import httpx
import pytest

from common.problems import ServiceUnavailable, Unprocessable
from services.disbursement.clients import CalculationClient, Dossier, EligibilityClient, IntakeClient

SETTINGS = SimpleNamespace(intake_url="http://intake", calculation_url="http://calculation",
                           eligibility_url="http://eligibility", call_timeout_s=1.0)


def auth() -> dict[str, str]:
    return {"Authorization": "Bearer service-token"}


def stand_in(handler):
    """A transport answering with `handler`, recording every request it got."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.MockTransport(handle), seen


def application(n: int) -> dict:
    return {"id": f"a{n}", "applicant_id": "u", "edition": "2024", "project_type": "brand", "status": "district_passed",
            "evaluation": {"outcome": "eligible", "checks": []}, "computation": {"amount": "100000.00", "trace": []},
            "content": {"ignored": True}}


def test_intake_pages_through_the_listing_with_a_service_token():
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"items": [application(i) for i in range(offset, min(offset + 200, 250))],
                                         "total": 250, "limit": 200, "offset": offset})
    transport, seen = stand_in(answer)
    listed = IntakeClient(SETTINGS, auth, transport).applications("2024", "district_passed")
    assert [a.id for a in listed] == [f"a{i}" for i in range(250)]
    assert str(listed[0].computation.amount) == "100000.00"
    assert [r.url.params["offset"] for r in seen] == ["0", "200"]
    assert {r.headers["authorization"] for r in seen} == {"Bearer service-token"}
    assert seen[0].url.params["status"] == "district_passed"


def test_units_are_read_a_hundred_ids_per_call():
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params.get_list("id")
        return httpx.Response(200, json={"items": [{"id": i, "uscc": f"U{i}", "name": "甲", "district_code": "210202"}
                                                   for i in ids], "total": len(ids)})
    transport, seen = stand_in(answer)
    ids = [f"u{i}" for i in range(150)]
    found = IntakeClient(SETTINGS, auth, transport).applicants(ids + ids[:10])  # asked twice: read once
    assert sorted(found) == sorted(ids) and found["u149"].uscc == "Uu149"
    assert [len(r.url.params.get_list("id")) for r in seen] == [100, 50]


@pytest.mark.parametrize(("status", "body"), [(500, {"detail": "boom"}), (404, {"detail": "gone"}),
                                              (200, {"items": "not a list", "total": 1})])
def test_a_failing_or_strange_intake_is_a_503_naming_it(status, body):
    transport, _ = stand_in(lambda request: httpx.Response(status, json=body))
    with pytest.raises(ServiceUnavailable) as refused:
        IntakeClient(SETTINGS, auth, transport).applications("2024", None)
    assert refused.value.extra["service"] == "intake"


def test_reads_are_retried_after_a_transport_failure_but_a_debarment_is_sent_once():
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    transport, seen = stand_in(unreachable)
    with pytest.raises(ServiceUnavailable):
        IntakeClient(SETTINGS, auth, transport).applicants(["u1"])
    assert len(seen) == 3  # one call and two retries: a GET changes nothing
    transport, seen = stand_in(unreachable)
    with pytest.raises(ServiceUnavailable) as refused:
        EligibilityClient(SETTINGS, auth, transport).debar("91210202MA0000000X", "伪造材料", "clawback c1",
                                                           date(2025, 12, 10), date(2028, 12, 10))
    assert len(seen) == 1 and refused.value.extra["service"] == "eligibility"  # each call records one: never retried


def test_calculation_refusing_the_dossier_is_the_callers_422_and_its_answer_is_typed():
    dossier = Dossier.model_validate({"application_id": "a1", "project_type": "platform_construction",
                                      "content": {"f3_expenses": [{"line_no": 1}, {"line_no": 2}]}})
    dossier.raw = {"application_id": "a1", "project_type": "platform_construction", "content": {}}
    assert dossier.line_numbers("f3_expenses") == {1, 2} and dossier.line_numbers("f5_certifications") == set()
    transport, seen = stand_in(lambda request: httpx.Response(422, json={"detail": "line 2 unknown"}))
    with pytest.raises(Unprocessable) as refused:
        CalculationClient(SETTINGS, auth, transport).compute(dossier, [{"form": "f3_expenses", "line_no": 2}])
    assert "line 2 unknown" in refused.value.detail
    sent = json.loads(seen[0].content)  # the dossier as intake gave it, with the auditor's lines
    assert sent == {**dossier.raw, "disallowed": [{"form": "f3_expenses", "line_no": 2}]}
    columns = {"keys": ["p"], "usccs": ["U1"], "project_types": ["brand"], "amounts": ["2.00"]}
    transport, seen = stand_in(lambda request: httpx.Response(200, json={
        "factor": "0.5", "total_allocated": "1.00", "capped_amounts": ["2.00"], "allocated_amounts": ["1.00"],
        "unit_caps_trace": [], "scaling_trace": []}))
    allocation = CalculationClient(SETTINGS, auth, transport).allocate("2024", "1.00", None, columns)
    assert allocation.allocated_amounts == ["1.00"] and allocation.factor == "0.5"
    assert json.loads(seen[0].content) == {"edition": "2024", "budget": "1.00", "type_budgets": None, **columns}
    # an answer of another length than the projects sent, or with an amount that is not money, is the callee's fault
    for answer in ({"capped_amounts": ["2.00"], "allocated_amounts": []}, {"capped_amounts": ["2.00"],
                                                                            "allocated_amounts": [1.0]}):
        transport, _ = stand_in(lambda request, answer=answer: httpx.Response(200, json={
            "factor": "0.5", "total_allocated": "1.00", "unit_caps_trace": [], "scaling_trace": [], **answer}))
        with pytest.raises(ServiceUnavailable):
            CalculationClient(SETTINGS, auth, transport).allocate("2024", "1.00", None, columns)
