"""Calculation through the gateway: auditor adjustments, unit caps and budget scaling, exact to the fen."""
from __future__ import annotations

from decimal import Decimal

from ..factories import new_uscc, platform_construction_content
from ..test_slice import submitted_platform_application, wait_for


def test_disallowed_lines_are_left_out_and_named_in_the_trace(system):
    content = platform_construction_content()
    dossier = {"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": new_uscc()},
               "content": content, "disallowed": [{"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"}]}
    response = system.client_for("auditor").post("/api/v1/calculation/computations", json=dossier)
    assert response.status_code == 200
    result = response.json()
    assert result["amount"] == "60000.00"  # 50 % of line 1 only
    base = next(s for s in result["trace"] if s["step"] == "eligible base")
    assert base["inputs"]["left_out"] == [{"line_no": 2, "why": "disallowed by the audit: 发票与合同不符",
                                          "clause": "N4.2"}]


def test_unit_caps_scale_a_units_platform_projects_to_exactly_300000(system):
    city = system.client_for("city_officer")
    response = city.post("/api/v1/calculation/unit-caps", json={"edition": "2024", "items": [
        {"key": "a", "uscc": "U1", "project_type": "platform_construction", "amount": "200000.00"},
        {"key": "b", "uscc": "U1", "project_type": "platform_operation", "amount": "133333.33"},
        {"key": "c", "uscc": "U2", "project_type": "platform_construction", "amount": "200000.00"},
        {"key": "d", "uscc": "U1", "project_type": "brand", "amount": "100000.00"}]})
    assert response.status_code == 200, response.text
    capped = {i["key"]: Decimal(i["capped_amount"]) for i in response.json()["items"]}
    assert capped["a"] + capped["b"] == Decimal("300000.00")
    assert capped["c"] == Decimal("200000.00") and capped["d"] == Decimal("100000.00")
    assert response.json()["trace"][0]["clause"] == "G1.3.3"
    assert system.client_for("applicant", unit_uscc=new_uscc()).post(
        "/api/v1/calculation/unit-caps", json={"items": []}).status_code == 403


def test_budget_scaling_sums_exactly_and_leaves_an_under_budget_plan_alone(system):
    city = system.client_for("city_officer")
    items = [{"key": f"p{i}", "amount": amount} for i, amount in enumerate(["100000.00", "33333.33", "66666.67",
                                                                            "0.01", "12345.67"])]
    scaled = city.post("/api/v1/calculation/budget-scaling", json={"budget": "100000.00", "items": items}).json()
    assert scaled["total_allocated"] == "100000.00"
    assert sum(Decimal(i["allocated"]) for i in scaled["items"]) == Decimal("100000.00")
    assert all(Decimal(i["allocated"]) <= Decimal(i["amount"]) for i in scaled["items"])
    same = city.post("/api/v1/calculation/budget-scaling", json={"budget": "1000000.00", "items": items}).json()
    assert [i["allocated"] for i in same["items"]] == [i["amount"] for i in items] and same["factor"] == "1"
    typed = city.post("/api/v1/calculation/budget-scaling", json={
        "budget": "150000.00", "type_budgets": {"brand": "100000.00", "certification": "50000.00"},
        "items": [{"key": "b1", "amount": "100000.00", "project_type": "brand"},
                  {"key": "b2", "amount": "100000.00", "project_type": "brand"},
                  {"key": "c1", "amount": "40000.00", "project_type": "certification"}]}).json()
    assert {i["key"]: i["allocated"] for i in typed["items"]} == {"b1": "50000.00", "b2": "50000.00",
                                                                "c1": "40000.00"}
    floats = city.post("/api/v1/calculation/budget-scaling", json={"budget": 100.5, "items": []})
    assert floats.status_code == 422 and "decimal string" in floats.text


def test_the_same_invoice_in_two_applications_names_both(system):
    content = platform_construction_content()
    _, _, first = submitted_platform_application(system, content=content)
    wait_for(lambda: system.client_for("city_officer").get(f"/api/v1/intake/applications/{first['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    client, _, second = submitted_platform_application(system, content=content)
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{second['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "needs_review"
    duplicate = next(c for c in done["evaluation"]["checks"] if c["clause"] == "N3.3")
    assert first["id"] in duplicate["details"]["other_applications"]


def test_an_editions_parameters_are_listed_with_their_clauses(system):
    response = system.client_for("applicant", unit_uscc=new_uscc()).get("/api/v1/eligibility/editions/2024/parameters")
    assert response.status_code == 200
    by_path = {p["path"]: p for p in response.json()}
    assert by_path["interest_subsidy.lpr"]["value"] == "0.0310" and by_path["interest_subsidy.lpr"]["clause"] == "G4.2"
    assert by_path["support_period"]["value"] == {"start": "2023-07-01", "end": "2024-12-31"}
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
