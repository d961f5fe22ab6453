"""Next year's notice is data: a 2025 edition written beside 2024 (other windows, thresholds, rates, caps, a new
receipt currency) is served by the same engine, untouched, while 2024 dossiers keep their own figures."""
from __future__ import annotations

import uuid
from datetime import date

import httpx
import yaml

from common.parameters import EDITIONS_DIR

from ..factories import PLEDGES, new_uscc

SHIFTED = {date(2023, 7, 1): date(2024, 7, 1), date(2024, 12, 31): date(2025, 12, 31),
           date(2023, 6, 30): date(2024, 6, 30), date(2020, 7, 1): date(2021, 7, 1),
           date(2025, 12, 22): date(2026, 12, 22), date(2025, 12, 29): date(2026, 12, 29)}
F1 = {"pledges": PLEDGES, "signatory": "张三", "signed_on": "2026-12-01"}


def _shift(node):
    """Every date one year on, every value effective from the new notice's day."""
    if isinstance(node, dict):
        if "values" in node and "clause" in node:
            node["values"] = {date(2026, 12, 1): _shift(v) for v in node["values"].values()}
            return node
        return {k: _shift(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift(v) for v in node]
    return SHIFTED.get(node, node) if isinstance(node, date) else node


def write_2025(folder) -> None:
    """A made-up 2025 edition: dates a year on, USD 2M for certification, LPR 3.00 %, USD/CNY 7.2000 and a EUR
    parity, a 150,000 construction cap."""
    raw = yaml.safe_load((EDITIONS_DIR / "2024.yaml").read_text(encoding="utf-8"))
    raw = {**_shift(raw), "edition": "2025", "title": "2025年度（测试用）"}
    p = raw["parameters"]
    p["certification"]["offshore_minimum_usd"]["values"] = {date(2026, 12, 1): "2000000.00"}
    p["interest_subsidy"]["lpr"]["values"] = {date(2026, 12, 1): "0.0300"}
    p["interest_subsidy"]["usd_cny"]["values"] = {date(2026, 12, 1): "7.2000"}
    p["interest_subsidy"]["cny_per_unit"]["values"] = {date(2026, 12, 1): {"USD": "7.2000", "EUR": "7.9000"}}
    p["platform_construction"]["cap"]["values"] = {date(2026, 12, 1): "150000.00"}
    (folder / "2024.yaml").write_text((EDITIONS_DIR / "2024.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "2025.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _dossier(edition: str, project_type: str, uscc: str, content: dict, **extra) -> dict:
    return {"edition": edition, "project_type": project_type, "applicant": {"uscc": uscc},
            "content": {"f1_commitment": F1, **content}, **extra}


def test_a_next_edition_is_served_as_data(system, tmp_path):
    write_2025(tmp_path)
    env = {"FUNDFLOW_EDITIONS_DIR": str(tmp_path)}
    eligibility = system.spawn("eligibility", ELIGIBILITY_FIXED_NOW="2026-12-10T10:00:00+08:00", **env)
    calculation = system.spawn("calculation", CALCULATION_FIXED_NOW="2026-12-10T10:00:00+08:00", **env)
    token = {"Authorization": f"Bearer {system.token('city_officer')}"}
    try:
        with httpx.Client(base_url=eligibility.url, headers=token) as elig, \
                httpx.Client(base_url=calculation.url, headers=token) as calc:
            assert [e["edition"] for e in elig.get("/editions").json()] == ["2024", "2025"]
            lpr = elig.get("/editions/2025/parameters", params={"prefix": "interest_subsidy.lpr"}).json()
            assert [(p["value"], p["effective_from"], p["clause"]) for p in lpr] == [("0.0300", "2026-12-01", "G4.2")]

            # G2.1.2: USD 1.5M is enough in 2024 and not in 2025
            unit = new_uscc()
            for edition, day, outcome in (("2024", "2024-05-01", "eligible"), ("2025", "2025-05-01", "ineligible")):
                cert = [{"line_no": 1, "scheme": "CMMI", "kind": "new", "certified_on": day, "fee": "1000.00",
                         "requested": "700.00"}]
                result = elig.post("/evaluations", json=_dossier(edition, "certification", unit, {
                    "offshore_execution": {"approved_usd": "1500000.00"}, "f5_certifications": cert})).json()
                assert result["outcome"] == outcome, result
            offshore = next(c for c in result["checks"] if c["rule"] == "offshore.minimum")
            assert offshore["message_zh"] == "离岸执行额 150 万美元，低于 200 万美元 (G2.1.2)"

            # G4.2: a EUR receipt has a parity in 2025 (no review), converted through CNY; LPR 3.00 %, 7.2000
            contract = {"line_no": 1, "contract_number": "C", "executed_on": "2025-03-01", "executed_usd": "1000000.00",
                        "receipt_on": "2025-04-01", "receipt_currency": "EUR", "receipt_amount": "800000.00"}
            content = {"offshore_execution": {"approved_usd": "6000000.00"}, "f9_interest_contracts": [contract]}
            dossier = _dossier("2025", "interest_subsidy", unit, content)
            assert elig.post("/evaluations", json=dossier).json()["outcome"] == "eligible"
            priced = calc.post("/computations", json=dossier).json()
            assert priced["amount"] == "189599.99", priced
            principal = next(s for s in priced["trace"] if s["step"] == "principal")
            assert principal["inputs"]["receipts_usd"] == "877777.77"
            assert principal["parameter"]["usd_cny"]["value"] == "7.2000"
            # the same figures under 2024's rules: no EUR parity, so review and nothing counted
            old = {**content, "f9_interest_contracts": [{**contract, "executed_on": "2024-03-01",
                                                         "receipt_on": "2024-04-01"}]}
            assert elig.post("/evaluations", json=_dossier("2024", "interest_subsidy", unit, old)).json()[
                "outcome"] == "needs_review"

            # G1.3.1: 2025's window and cap
            expense = {"line_no": 1, "content": "服务器", "expense_kind": "server", "invoice_amount": "400000.00",
                       "paid_amount": "400000.00", "invoice_number": uuid.uuid4().hex[:12],
                       "invoice_date": "2025-03-01"}
            platform = {"f2_platform": {"platform_name": f"平台{unit}", "completed_on": "2025-03-01"},
                        "f3_expenses": [expense], "f4_served_firms": [
                            {"line_no": i, "name": f"企业{i}", "uscc": new_uscc()} for i in range(1, 6)]}
            assert calc.post("/computations", json=_dossier("2025", "platform_construction", unit, platform)).json()[
                "amount"] == "150000.00"
            late = {**platform, "f2_platform": {"platform_name": f"平台{unit}", "completed_on": "2024-06-30"}}
            result = elig.post("/evaluations", json=_dossier("2025", "platform_construction", unit, late)).json()
            assert sorted({c["clause"] for c in result["checks"] if c["outcome"] == "fail"}) == ["G1.1.2", "G1.3.1"]

            # G5.1.3: a base that applied for construction support in 2024 is not applying for the first time in 2025
            base = new_uscc()
            registered = elig.post("/registries/recognised-bases", json=[{"uscc": base, "base_name": "基地"}])
            assert registered.status_code == 201
            tcm = {"tcm_base": {"base_name": "基地", "first_application": True},
                   "f2_platform": {"platform_name": f"基地平台{base}", "completed_on": "2024-09-01"},
                   "f3_expenses": [{**expense, "expense_kind": "information_system", "invoice_date": "2024-09-01",
                                    "invoice_number": uuid.uuid4().hex[:12]}]}
            first = elig.post("/evaluations", json=_dossier(
                "2024", "tcm_construction", base, tcm, application_id=f"t24-{uuid.uuid4().hex[:8]}",
                submitted_at="2025-12-10T10:00:00+08:00")).json()
            assert first["outcome"] == "eligible", first["checks"]
            again = elig.post("/evaluations", json=_dossier("2025", "tcm_construction", base, {
                **tcm, "f3_expenses": [{**tcm["f3_expenses"][0], "invoice_number": uuid.uuid4().hex[:12]}]})).json()
            check = next(c for c in again["checks"] if c["rule"] == "tcm.first_application")
            assert check["outcome"] == "fail" and "2024" in check["message_zh"]
            assert check["details"]["earlier"][0]["application_id"] == first["application_id"]
    finally:
        calculation.stop()
        eligibility.stop()
