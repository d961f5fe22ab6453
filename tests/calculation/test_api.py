"""Calculation through the gateway: traces, auditor adjustments, pricing an application by id, unit caps and budget
scaling exact to the fen, and the parameters listing."""
from __future__ import annotations

from decimal import Decimal

from ..factories import new_uscc, platform_construction_content
from ..test_slice import submitted_platform_application, wait_for

CALC = "/api/v1/calculation"


def test_disallowed_lines_are_left_out_and_named_in_the_trace(system):
    content = platform_construction_content()
    dossier = {"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": new_uscc()},
               "content": content, "disallowed": [{"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"},
                                                   {"form": "f3_expenses", "line_no": 9, "reason": "笔误"}]}
    response = system.client_for("auditor").post(f"{CALC}/computations", json=dossier)
    assert response.status_code == 200
    result = response.json()
    assert result["amount"] == "60000.00"  # 50 % of line 1 only
    base = next(s for s in result["trace"] if s["step"] == "eligible base")
    assert base["inputs"]["left_out"] == [{"line_no": 2, "why": "disallowed by the audit: 发票与合同不符",
                                          "clause": "N4.2"}]
    assert base["inputs"]["counted"][0]["amount"] == "120000.00"
    assert result["warnings"] == ["disallowed lines 9 of f3_expenses are not in the dossier"]
    assert result["disallowed"][0] == {"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"}


def test_every_step_cites_its_parameter_and_clause(system):
    client = system.client_for("applicant", unit_uscc=new_uscc())
    dossier = {"edition": "2024", "project_type": "interest_subsidy", "applicant": {"uscc": new_uscc()}, "content": {
        "offshore_execution": {"approved_usd": "6000000.00"},
        "f9_interest_contracts": [
            {"line_no": 1, "contract_number": "C-1", "executed_on": "2024-03-01", "executed_usd": "700000.00",
             "receipt_on": "2024-04-01", "receipt_currency": "USD", "receipt_amount": "650000.00"},
            {"line_no": 2, "contract_number": "C-2", "executed_on": "2024-05-01", "executed_usd": "100000.00",
             "receipt_on": "2024-06-01", "receipt_currency": "JPY", "receipt_amount": "10000000.00"},
            {"line_no": 3, "contract_number": "C-3", "executed_on": "2024-05-01", "executed_usd": "100000.00",
             "receipt_on": "2024-06-01", "receipt_currency": "USD", "receipt_amount": "100000.00"}]},
        "disallowed": [{"form": "f9_interest_contracts", "line_no": 3, "reason": "合同未备案"}]}
    result = client.post(f"{CALC}/computations", json=dossier).json()
    steps = {s["step"]: s for s in result["trace"]}
    assert list(steps) == ["principal", "to CNY", "rate", "cap", "rounding", "amount"]
    principal = steps["principal"]
    # execution 800,000 in the period, receipts 650,000 USD (JPY has no rate, line 3 disallowed): 650,000
    assert (principal["inputs"]["executed_usd_in_period"], principal["inputs"]["receipts_usd"],
            principal["result"]) == ("800000.00", "650000.00", "650000.00")
    assert principal["inputs"]["currencies_without_rate"] == ["JPY"]
    assert "disallowed" in principal["inputs"]["contracts"][2]["counted"]
    assert steps["to CNY"]["parameter"] == {"name": "interest_subsidy.usd_cny", "value": "7.1884", "clause": "G4.2",
                                            "effective_from": "2025-12-05"}
    assert steps["rate"]["parameter"]["name"] == "interest_subsidy.lpr" and steps["rate"]["parameter"]["value"] == \
        "0.0310"
    assert result["amount"] == "144846.26"  # 650,000 × 7.1884 × 3.10 %
    assert any("JPY" in w for w in result["warnings"])


def test_an_application_is_priced_by_id_from_its_dossier_at_intake(system):
    _, applicant, application = submitted_platform_application(system)
    auditor = system.client_for("auditor")
    priced = auditor.post(f"{CALC}/applications/{application['id']}/computations", json={
        "disallowed": [{"form": "f3_expenses", "line_no": 1, "reason": "合同金额不符"}]})
    assert priced.status_code == 200, priced.text
    result = priced.json()
    assert (result["application_id"], result["uscc"], result["amount"]) == (application["id"], applicant["uscc"],
                                                                             "40000.00")
    kept = system.client_for("city_officer").get(f"{CALC}/computations", params={"application_id": application["id"]})
    assert result["id"] in {c["id"] for c in kept.json()["items"]}
    # the applicant's own token is passed on to intake: its own application is priced, another unit's is not found
    own = system.client_for("applicant", unit_uscc=applicant["uscc"])
    assert own.post(f"{CALC}/applications/{application['id']}/computations", json={}).json()["amount"] == "100000.00"
    stranger = system.client_for("applicant", unit_uscc=new_uscc())
    assert stranger.post(f"{CALC}/applications/{application['id']}/computations", json={}).status_code == 404
    missing = auditor.post(f"{CALC}/applications/no-such-application/computations", json={})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_unit_caps_scale_a_units_projects_to_exactly_the_cap(system):
    city = system.client_for("city_officer")
    response = city.post(f"{CALC}/unit-caps", json={"edition": "2024", "items": [
        {"key": "a", "uscc": "U1", "project_type": "platform_construction", "amount": "200000.00"},
        {"key": "b", "uscc": "U1", "project_type": "platform_operation", "amount": "133333.33"},
        {"key": "c", "uscc": "U2", "project_type": "platform_construction", "amount": "200000.00"},
        {"key": "d", "uscc": "U1", "project_type": "brand", "amount": "100000.00"},
        {"key": "e", "uscc": "U2", "project_type": "platform_operation", "amount": "100000.00"},
        {"key": "f", "uscc": "U1", "project_type": "tcm_construction", "amount": "300000.00"},
        {"key": "g", "uscc": "U1", "project_type": "tcm_operation", "amount": "200000.01"},
        {"key": "h", "uscc": "U3", "project_type": "tcm_construction", "amount": "300000.00"},
        {"key": "i", "uscc": "U3", "project_type": "tcm_operation", "amount": "200000.00"}]})
    assert response.status_code == 200, response.text
    capped = {i["key"]: Decimal(i["capped_amount"]) for i in response.json()["items"]}
    assert capped["a"] + capped["b"] == Decimal("300000.00") and capped["a"] > capped["b"]  # G1.3.3 binds
    assert (capped["c"], capped["e"]) == (Decimal("200000.00"), Decimal("100000.00"))  # exactly 300,000: unchanged
    assert capped["d"] == Decimal("100000.00")  # no unit cap for brands
    assert capped["f"] + capped["g"] == Decimal("500000.00") and capped["f"] < Decimal("300000.00")  # G5.2 binds
    assert (capped["h"], capped["i"]) == (Decimal("300000.00"), Decimal("200000.00"))  # at the cap: unchanged
    trace = {(s["inputs"]["uscc"], s["inputs"]["group"]): s for s in response.json()["trace"]}
    assert trace[("U1", "platform")]["clause"] == "G1.3.3" and "over the cap" in trace[("U1", "platform")]["note"]
    assert trace[("U2", "platform")]["note"] == "within the cap: unchanged"
    assert trace[("U1", "tcm")]["clause"] == "G5.2" and trace[("U1", "tcm")]["parameter"]["value"] == "500000.00"
    twice = city.post(f"{CALC}/unit-caps", json={"items": [
        {"key": "a", "uscc": "U1", "project_type": "brand", "amount": "1.00"},
        {"key": "a", "uscc": "U1", "project_type": "brand", "amount": "2.00"}]})
    assert twice.status_code == 422 and "a" in twice.json()["detail"]
    assert system.client_for("applicant", unit_uscc=new_uscc()).post(
        f"{CALC}/unit-caps", json={"items": []}).status_code == 403


def test_budget_scaling_sums_exactly_and_leaves_an_under_budget_plan_alone(system):
    city = system.client_for("city_officer")
    items = [{"key": f"p{i}", "amount": amount} for i, amount in enumerate(["100000.00", "33333.33", "66666.67",
                                                                            "0.01", "12345.67"])]
    scaled = city.post(f"{CALC}/budget-scaling", json={"budget": "100000.00", "items": items}).json()
    assert scaled["total_allocated"] == "100000.00" and scaled["total_requested"] == "212345.68"
    assert sum(Decimal(i["allocated"]) for i in scaled["items"]) == Decimal("100000.00")
    assert all(Decimal(i["allocated"]) <= Decimal(i["amount"]) for i in scaled["items"])
    assert scaled["factor"] == "0.470930230368" and scaled["trace"][0]["clause"] == "N4.3"
    same = city.post(f"{CALC}/budget-scaling", json={"budget": "212345.68", "items": items}).json()
    assert [i["allocated"] for i in same["items"]] == [i["amount"] for i in items] and same["factor"] == "1"
    floats = city.post(f"{CALC}/budget-scaling", json={"budget": 100.5, "items": []})
    assert floats.status_code == 422 and "decimal string" in floats.text
    negative = city.post(f"{CALC}/budget-scaling", json={"budget": "10.00", "items": [{"key": "x", "amount": "-1.00"}]})
    assert negative.status_code == 422


def test_per_type_budgets_and_the_rest_of_the_fund(system):
    city = system.client_for("city_officer")
    typed = city.post(f"{CALC}/budget-scaling", json={
        "budget": "200000.00", "type_budgets": {"brand": "100000.00", "certification": "50000.00"},
        "items": [{"key": "b1", "amount": "100000.00", "project_type": "brand"},
                  {"key": "b2", "amount": "100000.00", "project_type": "brand"},
                  {"key": "c1", "amount": "40000.00", "project_type": "certification"},
                  {"key": "p1", "amount": "60000.00", "project_type": "platform_construction"},
                  {"key": "p2", "amount": "40000.00"}]}).json()
    assert {i["key"]: i["allocated"] for i in typed["items"]} == {
        "b1": "50000.00", "b2": "50000.00", "c1": "40000.00", "p1": "30000.00", "p2": "20000.00"}
    assert typed["factor"] == "per type"
    assert typed["factors"] == {"brand": "0.500000000000", "certification": "1", "other": "0.500000000000"}
    over = city.post(f"{CALC}/budget-scaling", json={"budget": "10.00", "type_budgets": {"brand": "10.01"},
                                                     "items": []})
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "body.type_budgets"


def test_the_same_invoice_in_two_applications_names_both(system):
    content = platform_construction_content()
    _, _, first = submitted_platform_application(system, content=content)
    wait_for(lambda: system.client_for("city_officer").get(f"/api/v1/intake/applications/{first['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    again = platform_construction_content()
    again["f3_expenses"][1]["invoice_number"] = content["f3_expenses"][1]["invoice_number"]
    client, _, second = submitted_platform_application(system, content=again)
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{second['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "needs_review"
    duplicate = next(c for c in done["evaluation"]["checks"] if c["rule"] == "duplicate.invoice_claimed_twice")
    assert duplicate["clause"] == "N3.3" and duplicate["details"]["other_applications"] == [first["id"]]


def test_an_editions_parameters_are_listed_with_their_clauses(system):
    client = system.client_for("applicant", unit_uscc=new_uscc())
    response = client.get("/api/v1/eligibility/editions/2024/parameters")
    assert response.status_code == 200
    by_path = {p["path"]: p for p in response.json()}
    assert by_path["interest_subsidy.lpr"]["value"] == "0.0310" and by_path["interest_subsidy.lpr"]["clause"] == "G4.2"
    assert by_path["interest_subsidy.lpr"]["reference"] and by_path["interest_subsidy.lpr"]["unit"] == "rate"
    assert by_path["support_period"]["value"] == {"start": "2023-07-01", "end": "2024-12-31"}
    assert by_path["deadlines.applicant_submission"] == {
        "path": "deadlines.applicant_submission", "clause": "N3.5", "unit": "date", "value": "2025-12-22",
        "effective_from": "2025-12-05", "reference": "通知 三、(五)",
        "description": by_path["deadlines.applicant_submission"]["description"]}
    assert by_path["served_firms.new_platform_minimum"]["value"] == 5
    assert by_path["certification.limit_to_requested"]["value"] is True
    only = client.get("/api/v1/eligibility/editions/2024/parameters",
                      params={"prefix": "unit_caps", "on": "2025-12-10"}).json()
    assert {p["path"] for p in only} == {"unit_caps.platform.cap", "unit_caps.platform.project_types",
                                         "unit_caps.tcm.cap", "unit_caps.tcm.project_types"}
    assert client.get("/api/v1/eligibility/editions/2024/parameters", params={"on": "2025-12-04"}).json() == []
    unknown = system.client_for("admin").get("/api/v1/eligibility/editions/1999/parameters")
    assert unknown.status_code == 422 and "2024" in unknown.json()["detail"]


def test_the_same_platform_declared_by_two_units_names_the_first(system):
    content = platform_construction_content()
    _, _, first = submitted_platform_application(system, content=content)
    wait_for(lambda: system.client_for("city_officer").get(f"/api/v1/intake/applications/{first['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    again = platform_construction_content()
    again["f2_platform"]["platform_name"] = " " + content["f2_platform"]["platform_name"].upper() + " "
    client, _, second = submitted_platform_application(system, content=again)
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{second['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "needs_review"
    check = next(c for c in done["evaluation"]["checks"] if c["rule"] == "duplicate.project_declared_twice")
    assert check["clause"] == "N3.3" and first["id"] in check["details"]["other_applications"]


def test_an_allocation_over_columns_is_the_unit_caps_then_the_scaling(system):
    city = system.client_for("city_officer")
    items = [{"key": "a", "uscc": "U1", "project_type": "platform_construction", "amount": "200000.00"},
             {"key": "b", "uscc": "U1", "project_type": "platform_operation", "amount": "133333.33"},
             {"key": "c", "uscc": "U2", "project_type": "brand", "amount": "100000.00"},
             {"key": "d", "uscc": "U3", "project_type": "tcm_construction", "amount": "0.5"}]
    columns = {"keys": [i["key"] for i in items], "usccs": [i["uscc"] for i in items],
               "project_types": [i["project_type"] for i in items], "amounts": [i["amount"] for i in items]}
    allocated = city.post(f"{CALC}/allocations", json={"edition": "2024", "budget": "200000.00", **columns})
    assert allocated.status_code == 200, allocated.text
    answer = allocated.json()
    # the same figures as the two calls by items: G1.3.3 binds for U1, then N4.3 scales to the fund exactly
    capped = city.post(f"{CALC}/unit-caps", json={"edition": "2024", "items": items}).json()
    assert answer["capped_amounts"] == [i["capped_amount"] for i in capped["items"]] == [
        "180000.00", "120000.00", "100000.00", "0.50"]
    scaled = city.post(f"{CALC}/budget-scaling", json={"budget": "200000.00", "items": [
        {"key": i["key"], "amount": i["capped_amount"], "project_type": i["project_type"]}
        for i in capped["items"]]}).json()
    assert answer["allocated_amounts"] == [i["allocated"] for i in scaled["items"]]
    assert (answer["total_requested"], answer["total_capped"], answer["total_allocated"]) == (
        "433333.83", "400000.50", "200000.00")
    assert answer["factor"] == scaled["factor"] and answer["scaling_trace"] == scaled["trace"]
    assert answer["unit_caps_trace"] == capped["trace"] and answer["unit_caps_trace"][0]["clause"] == "G1.3.3"
    typed = city.post(f"{CALC}/allocations", json={"budget": "200000.00", "type_budgets": {"brand": "50000.00"},
                                                   **columns}).json()
    assert typed["allocated_amounts"][2] == "50000.00" and typed["factors"]["brand"] == "0.500000000000"

    def refused(**change):
        return city.post(f"{CALC}/allocations", json={"budget": "200000.00", **columns, **change})
    short = refused(amounts=columns["amounts"][:3])
    assert short.status_code == 422 and "lengths differ" in short.json()["detail"]
    assert short.headers["content-type"] == "application/problem+json"
    assert refused(amounts=["1.00", "2.00", "3.00", "4.001"]).status_code == 422  # at most two places
    assert refused(amounts=["1.00", "2.00", "3.00", "-4.00"]).status_code == 422
    assert refused(amounts=["1.00", "2.00", "3.00", 4]).status_code == 422  # never a number
    twice = refused(keys=["a", "a", "c", "d"])
    assert twice.status_code == 422 and "a" in twice.json()["detail"]
    over = refused(type_budgets={"brand": "200000.01"})
    assert over.status_code == 422 and "exceed the fund" in over.json()["detail"]
    assert system.client_for("applicant", unit_uscc=new_uscc()).post(
        f"{CALC}/allocations", json={"budget": "1.00", "keys": [], "usccs": [], "project_types": [],
                                     "amounts": []}).status_code == 403
