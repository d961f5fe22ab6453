"""Evaluations through the gateway: messages, the reference date of registry checks, duplicates across applications
(N3.3), kept evaluations, and the refusals of dossiers that cannot be evaluated."""
from __future__ import annotations

import uuid

import httpx

from ..factories import certification_dossier, new_uscc, platform_dossier

EVALUATIONS = "/api/v1/eligibility/evaluations"


def test_messages_give_the_figures_and_the_clause_in_both_languages(system):
    client = system.client_for("applicant", unit_uscc=new_uscc())
    result = client.post(EVALUATIONS, json=certification_dossier(new_uscc(), "999999.99")).json()
    check = next(c for c in result["checks"] if c["rule"] == "offshore.minimum")
    assert (check["outcome"], check["clause"]) == ("fail", "G2.1.2")
    assert check["message_zh"] == "离岸执行额 999,999.99 美元，低于 100 万美元 (G2.1.2)"
    assert check["message_en"] == "Offshore execution USD 999,999.99, below USD 1,000,000.00 (G2.1.2)"
    assert check["details"] == {"amount_usd": "999999.99", "minimum_usd": "1000000.00"}
    assert result["precheck"] is True and result["reference_date"] == "2025-12-10"
    passed = client.post(EVALUATIONS, json=certification_dossier(new_uscc(), "1000000.00")).json()
    assert next(c for c in passed["checks"] if c["rule"] == "offshore.minimum")["message_zh"] == \
        "离岸执行额 100 万美元，不低于 100 万美元 (G2.1.2)"
    assert [c["rule"] for c in passed["checks"]][:3] == ["applicant.uscc_valid", "applicant.registered_in_dalian",
                                                         "commitment.pledges"]


def test_registries_are_judged_on_the_submission_date_and_a_precheck_on_the_earlier_of_today_and_the_deadline(system):
    city = system.client_for("city_officer")
    unit = new_uscc()
    assert city.post("/api/v1/eligibility/registries/credit-entries", json=[
        {"uscc": unit, "kind": "serious_dishonesty", "source": "信用中国", "listed_on": "2025-12-08"}]).status_code == 201
    submitted_before = {**certification_dossier(unit, "2000000.00"), "application_id": f"r-{uuid.uuid4().hex[:8]}",
                        "submitted_at": "2025-12-07T23:59:59+08:00"}
    result = city.post(EVALUATIONS, json=submitted_before).json()
    assert (result["outcome"], result["reference_date"], result["precheck"]) == ("eligible", "2025-12-07", False)
    # the same instant in UTC is still 12-07 in China; an hour later it is 12-08 there
    late = {**submitted_before, "submitted_at": "2025-12-07T16:00:00Z"}
    assert city.post(EVALUATIONS, json=late).json()["reference_date"] == "2025-12-08"
    precheck = city.post(EVALUATIONS, json=certification_dossier(unit, "2000000.00")).json()
    assert precheck["outcome"] == "ineligible" and precheck["reference_date"] == "2025-12-10"
    # after the applicant deadline a pre-check is judged on the deadline (2025-12-22): a debarment that ended
    # on 2025-12-23 still counts then, though it is over by the process's today (2026-03-01)
    debarred = new_uscc()
    assert city.post("/api/v1/eligibility/debarments", json={
        "uscc": debarred, "reason": "伪造材料", "source": "test", "starts_on": "2022-12-23"}).status_code == 201
    later = system.spawn("eligibility", ELIGIBILITY_FIXED_NOW="2026-03-01T09:00:00+08:00",
                         ELIGIBILITY_KEEP_PRECHECKS="true")
    try:
        with httpx.Client(base_url=later.url, headers={"Authorization": f"Bearer {system.token('admin')}"}) as c:
            result = c.post("/evaluations", json=certification_dossier(debarred, "2000000.00")).json()
            assert result["reference_date"] == "2025-12-22"
            check = next(x for x in result["checks"] if x["rule"] == "credit.debarment")
            assert check["outcome"] == "fail" and "2025-12-23" in check["message_zh"]
            # this process keeps pre-checks
            kept = c.get("/evaluations", params={"uscc": debarred, "include_prechecks": True}).json()
            assert [i["id"] for i in kept["items"]] == [result["id"]] and kept["items"][0]["precheck"] is True
    finally:
        later.stop()


def test_the_same_invoice_in_two_applications_names_both_and_reevaluation_replaces_the_claims(system):
    city = system.client_for("city_officer")
    shared, a_id, b_id = f"INV-{uuid.uuid4().hex[:10]}", f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    unit_a, unit_b = new_uscc(), new_uscc()
    first = city.post(EVALUATIONS, json=platform_dossier(unit_a, a_id, [shared, f"X{uuid.uuid4().hex[:10]}"])).json()
    assert first["outcome"] == "eligible", first["checks"]
    second = city.post(EVALUATIONS, json=platform_dossier(unit_b, b_id, [f"Y{uuid.uuid4().hex[:10]}",
                                                                  shared.lower()])).json()
    check = next(c for c in second["checks"] if c["rule"] == "duplicate.invoice_claimed_twice")
    assert (second["outcome"], check["outcome"], check["clause"]) == ("needs_review", "review", "N3.3")
    assert check["details"]["other_applications"] == [a_id]
    assert check["details"]["applications"] == sorted([a_id, b_id])  # both named
    assert f"已由申请 {a_id} 申报" in check["message_zh"] and "line 2" in check["message_en"]
    # the first application, evaluated again, now names the second
    again = city.post(EVALUATIONS, json=platform_dossier(unit_a, a_id, [shared, f"X{uuid.uuid4().hex[:10]}"])).json()
    assert next(c for c in again["checks"] if c["rule"] == "duplicate.invoice_claimed_twice")["details"][
        "other_applications"] == [b_id]
    listed = city.get("/api/v1/eligibility/registries/claimed-invoices",
                      params={"invoice_number": shared, "duplicates_only": True}).json()
    assert listed["total"] == 2 and {i["application_id"] for i in listed["items"]} == {a_id, b_id}
    # the second corrects its form: its claims are replaced, and the first is alone again
    city.post(EVALUATIONS, json=platform_dossier(unit_b, b_id, [f"Z{uuid.uuid4().hex[:10]}",
                                                                f"W{uuid.uuid4().hex[:10]}"]))
    alone = city.post(EVALUATIONS, json=platform_dossier(unit_a, a_id, [shared, f"X{uuid.uuid4().hex[:10]}"])).json()
    assert alone["outcome"] == "eligible", alone["checks"]
    assert city.get("/api/v1/eligibility/registries/claimed-invoices",
                    params={"invoice_number": shared}).json()["total"] == 1
    # a pre-check claims nothing, but is told about the claims of submitted applications
    precheck = city.post(EVALUATIONS, json=platform_dossier(new_uscc(), None, [shared])).json()
    assert next(c for c in precheck["checks"] if c["rule"] == "duplicate.invoice_claimed_twice")["details"][
        "other_applications"] == [a_id]
    assert city.get("/api/v1/eligibility/registries/claimed-invoices",
                    params={"invoice_number": shared}).json()["total"] == 1


def test_one_project_of_a_type_per_unit(system):
    city = system.client_for("city_officer")
    unit, first_id, second_id = new_uscc(), f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    submitted = {"submitted_at": "2025-12-10T10:00:00+08:00"}
    assert city.post(EVALUATIONS, json={**certification_dossier(unit, "2000000.00"), "application_id": first_id,
                                        **submitted}).json()["outcome"] == "eligible"
    second = city.post(EVALUATIONS, json={**certification_dossier(unit, "2000000.00"), "application_id": second_id,
                                          **submitted}).json()
    check = next(c for c in second["checks"] if c["rule"] == "duplicate.project_declared_twice")
    assert (check["outcome"], check["clause"], check["details"]["other_applications"]) == ("review", "N3.3",
                                                                                             [first_id])


def test_evaluations_are_kept_and_listed_for_the_officers(system):
    city = system.client_for("city_officer")
    unit, app_id = new_uscc(), f"k-{uuid.uuid4().hex[:8]}"
    dossier = platform_dossier(unit, app_id)
    ids = [city.post(EVALUATIONS, json=dossier).json()["id"] for _ in range(2)]
    precheck = city.post(EVALUATIONS, json=platform_dossier(unit)).json()
    listed = city.get(EVALUATIONS, params={"application_id": app_id}).json()
    assert listed["total"] == 2 and sorted(i["id"] for i in listed["items"]) == sorted(ids)
    assert listed["items"][0]["checks"] and listed["items"][0]["precheck"] is False
    # a pre-check is an answer, not a record: kept only when the service is set to keep them
    assert precheck["precheck"] is True
    by_unit = city.get(EVALUATIONS, params={"uscc": unit, "include_prechecks": True}).json()
    assert by_unit["total"] == 2 and precheck["id"] not in {i["id"] for i in by_unit["items"]}
    district = system.client_for("district_officer", district_code="210202")
    assert district.get(EVALUATIONS, params={"uscc": unit}).status_code == 200
    refused = system.client_for("applicant", unit_uscc=unit).get(EVALUATIONS, params={"uscc": unit})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_dossiers_that_cannot_be_evaluated_are_refused_with_the_field(system):
    client = system.client_for("expert")
    unknown_type = client.post(EVALUATIONS, json={**certification_dossier(new_uscc(), "1.00"),
                                                  "project_type": "lottery"})
    assert unknown_type.status_code == 422 and unknown_type.json()["errors"][0]["field"] == "body.project_type"
    assert "certification" in unknown_type.json()["detail"]
    unknown_edition = client.post(EVALUATIONS, json={**certification_dossier(new_uscc(), "1.00"), "edition": "1999"})
    assert unknown_edition.status_code == 422 and "2024" in unknown_edition.json()["detail"]
    before_notice = client.post(EVALUATIONS, json={**certification_dossier(new_uscc(), "1.00"), "application_id": "x",
                                                   "submitted_at": "2025-12-01T10:00:00+08:00"})
    assert before_notice.status_code == 422 and "2025-12-05" in before_notice.json()["detail"]
    floats = client.post(EVALUATIONS, json={**certification_dossier(new_uscc(), "1.00"),
                                            "content": {"offshore_execution": {"approved_usd": 1000000.0}}})
    assert floats.status_code == 422 and "decimal string" in floats.text
    no_token = httpx.post(f"{system.gateway_url}{EVALUATIONS}", json=certification_dossier(new_uscc(), "1.00"))
    assert no_token.status_code == 401
