"""The policy cases of tests/cases/<project_type>.yaml (OpenFisca manner), run through the gateway: outcome, failing and
review clauses, amount (or the refusal), for every boundary of POLICY.md on both sides and every cap binding or not.

A suite has a `base` content and `cases` that patch it (dicts merge, anything else replaces, null removes); a case
may also patch the `applicant`, set the registration `division` of its unit and seed the `registries`. Counts stand
for that many generated lines (served firms, certifications). Every case is a pre-check on a fresh unit.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ..factories import new_uscc
from ..jobs import wait_for_job

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
ALLOWED_KEYS = {"name", "patch", "applicant", "division", "registries", "expect"}
EXPECT_KEYS = {"outcome", "failing", "review", "amount", "amount_error", "left_out"}


def _load() -> list[tuple[str, dict, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in suite["cases"]:
            assert set(case) <= ALLOWED_KEYS and set(case["expect"]) <= EXPECT_KEYS, (path.name, case["name"])
            out.append((path.stem, suite, case))
    return out


CASES = _load()


def _merge(base: dict, patch: dict) -> dict:
    """Deep-merge a patch into a base: dicts merge, anything else replaces, null removes."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _expand(content: dict, uscc: str) -> dict:
    """Counts stand for that many generated lines; a platform's name is the unit's own (N3.3 compares names)."""
    if isinstance(content.get("f4_served_firms"), int):
        content["f4_served_firms"] = [{"line_no": i, "name": f"企业{i}", "uscc": new_uscc(), "service": "检验检测"}
                                      for i in range(1, content["f4_served_firms"] + 1)]
    if isinstance(content.get("f5_certifications"), int):
        content["f5_certifications"] = [{"line_no": i, "scheme": "CMMI", "kind": "new", "certified_on": "2024-05-01",
                                         "fee": "1000.00", "requested": "700.00"}
                                        for i in range(1, content["f5_certifications"] + 1)]
    if content.get("f2_platform"):
        content["f2_platform"]["platform_name"] = content["f2_platform"].get("platform_name", "") + uscc
    return content


def _seed_registries(officer, uscc: str, registries: dict) -> None:
    for path, key in (("registries/credit-entries", "credit_entries"), ("registries/debarments/import", "debarments"),
                      ("registries/recognised-bases", "recognised_bases")):
        entries = [{**e, "uscc": uscc} for e in registries.get(key, [])]
        if entries:
            response = officer.post(f"/api/v1/eligibility/{path}", json=entries)
            if path.endswith("/import"):  # a job: its lines are all in once it has ended
                job = wait_for_job(officer, response)
                assert (job["status"], job["failed"]) == ("succeeded", 0), job
            else:
                assert response.status_code == 201, response.text


@pytest.mark.parametrize("suite_name,suite,case", CASES, ids=[f"{s}: {c['name']}" for s, _, c in CASES])
def test_policy_case(system, suite_name, suite, case):
    uscc = new_uscc(case.get("division", "210202"))
    _seed_registries(system.client_for("city_officer"), uscc, case.get("registries", suite.get("registries", {})))
    applicant = {"uscc": uscc, "name": "大连案例有限公司", "district_code": "210202", "independent_legal_person": True}
    dossier = {"edition": "2024", "application_id": None, "project_type": suite["project_type"], "submitted_at": None,
               "applicant": _merge(applicant, case.get("applicant", {})),
               "content": _expand(_merge(suite["base"], case.get("patch", {})), uscc)}
    client = system.client_for("applicant", unit_uscc=uscc)
    evaluation = client.post("/api/v1/eligibility/evaluations", json=dossier)
    assert evaluation.status_code == 200, evaluation.text
    result = evaluation.json()
    expect = case["expect"]
    failing = sorted({c["clause"] for c in result["checks"] if c["outcome"] == "fail"})
    review = sorted({c["clause"] for c in result["checks"] if c["outcome"] == "review"})
    assert (result["outcome"], failing) == (expect["outcome"], sorted(expect["failing"])), result["checks"]
    assert review == sorted(expect.get("review", [])), result["checks"]
    for check in result["checks"]:  # each check cites its clause in both languages
        assert check["rule"] and check["message_zh"].endswith(f"({check['clause']})"), check
        assert check["message_en"].endswith(f"({check['clause']})"), check
    if "amount" in expect or "amount_error" in expect:
        computed = client.post("/api/v1/calculation/computations", json=dossier)
        if "amount_error" in expect:
            assert computed.status_code == expect["amount_error"]["status"], computed.text
            assert computed.json()["clause"] == expect["amount_error"]["clause"]
            return
        assert computed.status_code == 200, computed.text
        trace = computed.json()["trace"]
        assert computed.json()["amount"] == expect["amount"], trace
        assert trace[-1]["step"] == "amount" and trace[-1]["result"] == expect["amount"]
        if "left_out" in expect:
            base = next(s for s in trace if s["step"] in ("eligible base", "eligible fees"))
            assert sorted(x["line_no"] for x in base["inputs"]["left_out"]) == sorted(expect["left_out"]), base
