"""The policy cases of tests/cases/*.yaml (OpenFisca manner), run through the gateway: outcome, failing clauses, amount."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from .factories import new_uscc

CASES_DIR = Path(__file__).parent / "cases"


def _load() -> list[tuple[str, dict, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in suite["cases"]:
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


def _expand(content: dict) -> dict:
    """Counts stand for that many generated lines (served firms, certifications)."""
    if isinstance(content.get("f4_served_firms"), int):
        content["f4_served_firms"] = [{"line_no": i, "name": f"企业{i}", "uscc": new_uscc(), "service": "检验检测"}
                                      for i in range(1, content["f4_served_firms"] + 1)]
    if isinstance(content.get("f5_certifications"), int):
        content["f5_certifications"] = [{"line_no": i, "scheme": "CMMI", "kind": "new", "certified_on": "2024-05-01",
                                         "fee": "1000.00", "requested": "700.00"}
                                        for i in range(1, content["f5_certifications"] + 1)]
    return content


def _seed_registries(system, uscc: str, registries: dict) -> None:
    officer = system.client_for("city_officer")
    entries = [{**e, "uscc": uscc} for e in registries.get("credit_entries", [])]
    if entries:
        assert officer.post("/api/v1/eligibility/registries/credit-entries", json=entries).status_code == 201
    for debarment in registries.get("debarments", []):
        assert officer.post("/api/v1/eligibility/debarments", json={**debarment, "uscc": uscc}).status_code == 201
    bases = [{**b, "uscc": uscc} for b in registries.get("recognised_bases", [])]
    if bases:
        assert officer.post("/api/v1/eligibility/registries/recognised-bases", json=bases).status_code == 201


@pytest.mark.parametrize("suite_name,suite,case", CASES, ids=[f"{s}: {c['name']}" for s, _, c in CASES])
def test_policy_case(system, suite_name, suite, case):
    uscc = new_uscc(case.get("division", "210202"))
    _seed_registries(system, uscc, case.get("registries", suite.get("registries", {})))
    dossier = {"edition": "2024", "application_id": None, "project_type": suite["project_type"], "submitted_at": None,
               "applicant": {"uscc": uscc, "name": "大连案例有限公司", "district_code": "210202",
                             "independent_legal_person": True},
               "content": _expand(_merge(suite["base"], case.get("patch", {})))}
    client = system.client_for("applicant", unit_uscc=uscc)
    evaluation = client.post("/api/v1/eligibility/evaluations", json=dossier)
    assert evaluation.status_code == 200, evaluation.text
    result = evaluation.json()
    expect = case["expect"]
    failing = sorted({c["clause"] for c in result["checks"] if c["outcome"] == "fail"})
    review = {c["clause"] for c in result["checks"] if c["outcome"] == "review"}
    assert (result["outcome"], failing) == (expect["outcome"], sorted(expect["failing"])), result["checks"]
    assert set(expect.get("review", [])) <= review, result["checks"]
    for check in result["checks"]:
        assert check["message_zh"] and check["message_en"] and check["rule"]
    if "amount" in expect:
        computed = client.post("/api/v1/calculation/computations", json=dossier)
        assert computed.status_code == 200, computed.text
        assert computed.json()["amount"] == expect["amount"], computed.json()["trace"]
