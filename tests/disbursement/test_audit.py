"""The city's checks (N4.2, N4.3): third-party audit scoped to the assigned auditor, disallowed lines recomputed by
calculation, expert scores with conflicts of interest, reproducible spot checks whose findings change results."""
from __future__ import annotations

from services.disbursement.spotchecks import draw_sample

from .flow import D, audit, passed_application, take_over


def test_an_auditor_sees_and_audits_only_its_own_projects_and_disallowed_lines_are_recomputed(system):
    first, second = take_over(system, [passed_application(system), passed_application(system)])
    assert (first["computed_amount"], first["audit_opinion"], first["plan_standing"]) == (
        "100000.00", None, "awaiting the third-party audit (N4.2)")
    city = system.client_for("city_officer")
    assigned = city.post(f"{D}/projects/{first['id']}/auditor", json={"auditor": "auditor-a"}).json()
    assert (assigned["auditor"], assigned["auditor_assigned_at"][:10]) == ("auditor-a", "2025-12-10")
    mine, other = system.client_for("auditor", "auditor-a"), system.client_for("auditor", "auditor-b")
    listed = mine.get(f"{D}/projects", params={"limit": 200}).json()
    assert first["id"] in [p["id"] for p in listed["items"]] and second["id"] not in [p["id"] for p in listed["items"]]
    assert mine.get(f"{D}/projects/{second['id']}").status_code == 404  # scoped in the query, not only hidden

    adjusted = {"opinion": "pass_with_adjustments", "note": "第2行发票与合同不符",
                "disallowed": [{"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"}]}
    assert other.post(f"{D}/projects/{first['id']}/audit", json=adjusted).status_code == 404
    unknown_line = mine.post(f"{D}/projects/{first['id']}/audit", json={
        **adjusted, "disallowed": [{"form": "f3_expenses", "line_no": 9, "reason": "无此行"}]})
    assert unknown_line.status_code == 422 and "no line 9" in unknown_line.json()["detail"]
    assert mine.post(f"{D}/projects/{first['id']}/audit", json={"opinion": "pass_with_adjustments"}).status_code == 422
    assert mine.post(f"{D}/projects/{first['id']}/audit", json={**adjusted, "opinion": "pass"}).status_code == 422
    audited = mine.post(f"{D}/projects/{first['id']}/audit", json=adjusted)
    assert audited.status_code == 200, audited.text
    project = audited.json()
    assert (project["audit_opinion"], project["audited_amount"], project["audited_by"]) == (
        "pass_with_adjustments", "60000.00", "auditor-a")  # 50 % of line 1 (120,000) alone
    assert project["audit_disallowed"] == adjusted["disallowed"] and project["plan_amount"] == "60000.00"
    base = next(step for step in project["audit_trace"] if step["step"] == "eligible base")
    assert any(out["line_no"] == 2 and "发票与合同不符" in out["why"] for out in base["inputs"]["left_out"])
    again = mine.post(f"{D}/projects/{first['id']}/audit", json={"opinion": "pass"})
    assert again.status_code == 409 and again.json()["clause"] == "N4.2"
    assert city.post(f"{D}/projects/{first['id']}/auditor", json={"auditor": "auditor-b"}).status_code == 409

    # a failing opinion says why; the project then stays out of every plan
    city.post(f"{D}/projects/{second['id']}/auditor", json={"auditor": "auditor-b"})
    assert other.post(f"{D}/projects/{second['id']}/audit", json={"opinion": "fail"}).status_code == 422
    failed = other.post(f"{D}/projects/{second['id']}/audit", json={"opinion": "fail", "note": "平台未建成"}).json()
    assert (failed["audited_amount"], failed["plan_amount"]) == ("0.00", None)
    plan = city.post(f"{D}/plans", json={"budget": "99999999.00"}).json()
    assert first["id"] in {i["project_id"] for i in plan["items"]}
    assert {"project_id": second["id"], "reason": "the third-party audit failed it (N4.2)"}.items() <= next(
        o for o in plan["left_out"] if o["project_id"] == second["id"]).items()
    # admin reads everything and changes nothing
    admin = system.client_for("admin")
    assert admin.get(f"{D}/projects/{first['id']}").status_code == 200
    assert admin.post(f"{D}/projects/{first['id']}/auditor", json={"auditor": "x"}).status_code == 403


def test_expert_review_excludes_a_declared_conflict_of_interest(system):
    project = take_over(system, [passed_application(system)])[0]
    conflicted = system.client_for("expert", "expert-x")
    declared = conflicted.post(f"{D}/projects/{project['id']}/expert-scores", json={
        "conflict_of_interest": True, "conflict_statement": "曾为该单位提供咨询服务"})
    assert declared.status_code == 201 and declared.json()["conflict_of_interest"] is True
    # excluded from the project from then on: it no longer finds it at all
    assert conflicted.get(f"{D}/projects/{project['id']}").status_code == 404
    assert conflicted.post(f"{D}/projects/{project['id']}/expert-scores", json={
        "conflict_of_interest": False, "scores": {"创新性": 100}}).status_code == 404
    for expert, scores in (("expert-y", {"创新性": 85, "示范性": 90}), ("expert-z", {"创新性": 80})):
        scored = system.client_for("expert", expert).post(f"{D}/projects/{project['id']}/expert-scores",
                                                          json={"conflict_of_interest": False, "scores": scores})
        assert scored.status_code == 201 and scored.json()["scores"] == scores
    assert system.client_for("expert", "expert-y").post(f"{D}/projects/{project['id']}/expert-scores", json={
        "conflict_of_interest": False, "scores": {"创新性": 1}}).status_code == 409
    assert system.client_for("expert", "expert-w").post(f"{D}/projects/{project['id']}/expert-scores", json={
        "conflict_of_interest": False, "scores": {"创新性": 101}}).status_code == 422
    review = system.client_for("city_officer").get(f"{D}/projects/{project['id']}/expert-scores").json()
    assert review["excluded_experts"] == ["expert-x"]
    assert review["averages"] == {"创新性": "82.50", "示范性": "90.00"}
    assert len(review["records"]) == 3


def test_spot_checks_are_reproducible_recorded_and_their_findings_change_the_result(system):
    ours = take_over(system, [passed_application(system) for _ in range(3)])
    for project in ours:
        audit(system, project)
    city = system.client_for("city_officer")
    first = city.post(f"{D}/spot-checks", json={"size": 2, "seed": 20251210})
    assert first.status_code == 201, first.text
    draw = first.json()
    population = draw["population"]
    assert {p["id"] for p in ours} <= set(population) and population == sorted(population)
    # anyone can redraw it from the record: the same seed over the same population gives the same sample
    assert draw["project_ids"] == draw_sample(population, 2, 20251210) and draw["method"].startswith("CPython")
    again = city.post(f"{D}/spot-checks", json={"size": 2, "seed": 20251210}).json()
    assert again["project_ids"] == draw["project_ids"] and again["id"] != draw["id"]
    default = city.post(f"{D}/spot-checks", json={}).json()
    assert default["size"] == min(5, len(population)) and default["seed"] >= 0  # review.spot_check_default_size
    assert city.post(f"{D}/spot-checks", json={"size": len(population) + 1, "seed": 1}).status_code == 422

    # a seed whose sample holds two of our projects, found as any observer could
    ids = {p["id"] for p in ours}
    seed = next(s for s in range(100000) if len(ids & set(draw_sample(population, 3, s))) >= 2)
    check = city.post(f"{D}/spot-checks", json={"size": 3, "seed": seed}).json()
    adjusted_id, failed_id = sorted(ids & set(check["project_ids"]))[:2]
    url = f"{D}/spot-checks/{check['id']}/findings"
    line = [{"form": "f3_expenses", "line_no": 2, "reason": "抽查发现发票重复"}]
    assert city.post(url, json={"project_id": adjusted_id, "outcome": "confirmed", "finding": "x",
                                "disallowed": line}).status_code == 422
    adjusted = city.post(url, json={"project_id": adjusted_id, "outcome": "adjusted", "finding": "抽查核减第2行",
                                    "disallowed": line})
    assert adjusted.status_code == 201, adjusted.text
    assert (adjusted.json()["amount_before"], adjusted.json()["amount_after"]) == ("100000.00", "60000.00")
    project = city.get(f"{D}/projects/{adjusted_id}").json()
    assert (project["spot_check_outcome"], project["audited_amount"], project["plan_standing"]) == (
        "adjusted", "60000.00", "spot_check")
    assert city.post(url, json={"project_id": adjusted_id, "outcome": "failed", "finding": "x"}).status_code == 409
    failed = city.post(url, json={"project_id": failed_id, "outcome": "failed", "finding": "抽查发现平台未运营"})
    assert failed.status_code == 201 and failed.json()["amount_after"] == "0.00"
    assert city.get(f"{D}/projects/{failed_id}").json()["plan_standing"] == "failed the city's spot check (N4.3)"
    outsider = next(p for p in population if p not in check["project_ids"])
    assert city.post(url, json={"project_id": outsider, "outcome": "confirmed", "finding": "x"}).status_code == 422
    recorded = city.get(f"{D}/spot-checks", params={"limit": 200}).json()["items"]
    assert [f["project_id"] for f in next(s for s in recorded if s["id"] == check["id"])["findings"]] == [
        adjusted_id, failed_id]
