"""`make demo`: the whole 2024 programme through the gateway, from the units' registration to reconciled payments.

Run it against the system `make run` starts (`python -m tools.demo --base-url http://127.0.0.1:8000`). Every step
is an ordinary API call with the token of the account that would make it; the only thing outside the programme is
the calendar: the services run on a fixed clock (`make run`'s DEV_NOW) that the admin moves from stage to stage
(`PUT /api/v1/<service>/dev/clock`), since a public notice of five working days has to pass before the plan is final.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import secrets
import sys
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.factories import PLEDGES, new_uscc, pdf_bytes

SERVICES = ("intake", "eligibility", "calculation", "disbursement")
I, E, D = "/api/v1/intake", "/api/v1/eligibility", "/api/v1/disbursement"
EDITION = "2024"
FUND = "1500000.00"  # 专项资金规模 of the demo: less than the audited amounts, so that 统筹调整 binds (N4.3)
# the programme's calendar (Asia/Shanghai): submission inside D2, district review and sending before D3, then the city
CALENDAR = {"apply": "2025-12-10T10:00:00+08:00", "district": "2025-12-17T09:00:00+08:00",
            "city": "2025-12-22T09:00:00+08:00", "objection": "2025-12-24T15:00:00+08:00"}
TYPE_ZH = {"platform_construction": "平台建设", "platform_operation": "平台运维", "certification": "国际资质认证",
           "brand": "品牌建设", "interest_subsidy": "服务外包业务贴息", "tcm_construction": "中医药基地建设",
           "tcm_operation": "中医药基地运维"}


class DemoError(RuntimeError):
    """A call answered something the programme does not expect at that step."""


# --- output -----------------------------------------------------------------------------------------------------

def width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, size: int, right: bool) -> str:
    gap = " " * (size - width(text))
    return gap + text if right else text + gap


def clip(text: str, size: int = 30) -> str:
    """At most `size` characters, an ellipsis saying when some were left out."""
    return text if len(text) <= size else text[:size - 1] + "…"


def money(value: Any) -> str:
    """An amount in 元 with thousands separators, exact to the fen."""
    return f"{Decimal(str(value)):,.2f}"


def table(title: str, headers: list[str], rows: list[list[Any]], right: set[int] = frozenset(),
          out=None) -> None:
    """Print a titled table; columns in `right` (amounts, counts) are aligned right."""
    out = out or sys.stdout
    cells = [[str(c) for c in row] for row in rows]
    sizes = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    rule = "  ".join("─" * s for s in sizes)
    print(f"\n{title}", file=out)
    print("  ".join(pad(h, sizes[i], i in right) for i, h in enumerate(headers)).rstrip(), file=out)
    print(rule, file=out)
    for row in cells:
        print("  ".join(pad(c, sizes[i], i in right) for i, c in enumerate(row)).rstrip(), file=out)
    out.flush()


class Progress:
    """A text progress bar for the long steps (redrawn on a terminal, one line when logged)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.live = sys.stdout.isatty()

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.live:
            filled = int(30 * self.done / max(self.total, 1))
            sys.stdout.write(f"\r  {self.label} [{'█' * filled}{'·' * (30 - filled)}] {self.done}/{self.total}")
            sys.stdout.flush()

    def close(self) -> None:
        if self.live:
            sys.stdout.write("\n")
        else:
            print(f"  {self.label}: {self.done}/{self.total} done")
        sys.stdout.flush()


# --- HTTP -------------------------------------------------------------------------------------------------------

class Api:
    """One account's client at the gateway: answers checked, rate limits and brief outages waited out."""

    def __init__(self, base_url: str, token: str | None = None, name: str = "anonymous") -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.name = name
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=60.0)

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs) -> Any:
        """The JSON (or text) of an expected answer; a DemoError naming the problem otherwise."""
        # a retry is safe for reads, for money moved under an Idempotency-Key, and after a 429 (nothing was done)
        safe = method == "GET" or "Idempotency-Key" in (kwargs.get("headers") or {})
        for attempt in range(8):
            response = self.http.request(method, path, **kwargs)
            if response.status_code == 429 or (response.status_code in (502, 503, 504) and safe and attempt < 5):
                time.sleep(min(float(response.headers.get("Retry-After", "0.5") or 0.5), 5.0))
                continue
            break
        if response.status_code not in expect:
            try:
                problem = response.json()
                detail = f"{problem.get('title')}: {problem.get('detail')}"
            except ValueError:
                detail = response.text[:300]
            raise DemoError(f"{self.name}: {method} {path} answered {response.status_code} ({detail})")
        if response.headers.get("content-type", "").startswith(("application/json", "application/problem+json")):
            return response.json()
        return response.text

    def get(self, path: str, **kwargs) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Any:
        return self.call("POST", path, **kwargs)

    def close(self) -> None:
        self.http.close()


def idempotency_key() -> dict[str, str]:
    """A fresh Idempotency-Key: money moves once however often a request is repeated."""
    return {"Idempotency-Key": str(uuid.uuid4())}


# --- the programme's data ---------------------------------------------------------------------------------------

def expense(line_no: int, kind: str, amount: str, invoice: str | None = None, day: str = "2024-06-18") -> dict:
    """An F3 expense line (元) invoiced inside the support period (D1)."""
    return {"line_no": line_no, "content": f"{kind} 采购/服务", "expense_kind": kind, "contract_amount": amount,
            "invoice_amount": amount, "paid_amount": amount,
            "invoice_number": invoice or f"2102{secrets.randbelow(10**8):08d}", "invoice_date": day,
            "exhibit_page": str(10 + line_no)}


def commitment(signatory: str) -> dict:
    """F1: the seven pledges, signed."""
    return {"pledges": PLEDGES, "signatory": signatory, "signed_on": "2025-12-08"}


def platform(name: str, completed_on: str, firms: int, lines: list[dict], signatory: str) -> dict:
    """F1–F4 of a public service platform (G1)."""
    return {"f1_commitment": commitment(signatory),
            "f2_platform": {"platform_name": name, "completed_on": completed_on, "main_services": "检验检测、软件测试",
                            "served_firm_count": firms},
            "f3_expenses": lines,
            "f4_served_firms": [{"line_no": i, "name": f"大连服务外包企业{i:02d}", "uscc": new_uscc("210231"),
                                 "service": "软件测试"} for i in range(1, firms + 1)]}


@dataclass
class Unit:
    """An applicant unit of the demo and the account that acts for it."""

    key: str
    name: str
    district: str
    uscc: str = field(default_factory=lambda: "")
    applicant_id: str = ""
    api: Api | None = None


@dataclass
class Project:
    """One application of the demo and what the programme made of it."""

    unit: Unit
    project_type: str
    content: dict
    story: str
    copy_of: str | None = None  # the application whose invoice this one claims again (N3.3)
    application: dict = field(default_factory=dict)
    project: dict = field(default_factory=dict)


def scenario(run: str) -> tuple[list[Unit], list[Project], dict]:
    """The units of Dalian that apply, what they apply for, and the registries' entries about them."""
    units = {u.key: u for u in [
        Unit("haichen", "大连海辰云数据科技有限公司", "210202"), Unit("xinghai", "大连星海检测技术服务有限公司", "210211"),
        Unit("yunfan", "大连云帆软件有限公司", "210231"), Unit("huayuan", "大连华远外包服务有限公司", "210204"),
        Unit("park", "大连星海湾数字服务产业园运营有限公司", "210203"), Unit("bincheng", "大连滨城国际离岸服务有限公司", "210242"),
        Unit("shenrong", "大连参茸中医药发展有限公司", "210213"), Unit("liaoshen", "大连辽参中医药科技有限公司", "210281"),
        Unit("qiming", "大连启明平台科技有限公司", "210212"), Unit("yuanyang", "大连远洋贸易服务有限公司", "210283"),
        Unit("hengxin", "大连恒信数据服务有限公司", "210214"), Unit("beifang", "大连北方信息服务有限公司", "210211")]}
    for unit in units.values():
        unit.uscc = new_uscc(unit.district)
    shared_invoice = f"2102{secrets.randbelow(10**8):08d}"
    projects = [
        Project(units["haichen"], "platform_construction", platform(
            f"海辰服务贸易公共技术服务平台-{run}", "2024-05-30", 6,
            [expense(1, "server", "260000.00"), expense(2, "licensed_software", "120000.00"),
             expense(3, "network_equipment", "40000.00")], "王海辰"), "平台建设；审计核减一行"),
        Project(units["haichen"], "platform_operation", platform(
            f"海辰外包云服务平台-{run}", "2022-04-15", 12,
            [expense(1, "cloud_lease", "180000.00"), expense(2, "network_lease", "60000.00")], "王海辰"),
            "平台运维；与建设合计超单位上限 G1.3.3"),
        Project(units["xinghai"], "platform_operation", platform(
            f"星海检验检测公共服务平台-{run}", "2021-09-01", 10,
            [expense(1, "system_maintenance", "90000.00", shared_invoice), expense(2, "promotion", "35000.00")],
            "赵星海"), "平台运维"),
        Project(units["yunfan"], "certification", {
            "f1_commitment": commitment("孙云帆"), "offshore_execution": {"approved_usd": "2600000.00"},
            "f5_certifications": [
                {"line_no": 1, "scheme": "CMMI", "kind": "new", "certified_on": "2024-05-20", "fee": "180000.00",
                 "requested": "126000.00"},
                {"line_no": 2, "scheme": "ISO27001", "kind": "renewal", "certified_on": "2024-09-10",
                 "fee": "45000.00", "requested": "31500.00"}]}, "国际资质认证 70%"),
        Project(units["huayuan"], "brand", {
            "f1_commitment": commitment("钱华远"), "offshore_execution": {"approved_usd": "3200000.00"},
            "award": {"title": "iaop_global_outsourcing_100", "awarded_on": "2024-06-12",
                      "certificate_no": f"IAOP-GO100-2024-{run}"}}, "品牌 A 组：全球外包100强"),
        Project(units["park"], "brand", {
            "f1_commitment": commitment("周星湾"), "award": {"title": "cipa_digital_services_cluster_park"},
            "f6_park_enterprises": [{"line_no": i, "name": f"园区重点企业{i:02d}", "business_scope": "数字服务"}
                                    for i in range(1, 6)]}, "品牌 B 组：数字服务集聚园区"),
        Project(units["bincheng"], "interest_subsidy", {
            "f1_commitment": commitment("吴滨城"), "offshore_execution": {"approved_usd": "6500000.00"},
            "f9_interest_contracts": [
                {"line_no": 1, "contract_number": f"DLBC-2024-017-{run}", "contract_usd": "1500000.00",
                 "executed_on": "2024-03-01", "executed_usd": "1200000.00", "receipt_on": "2024-04-08",
                 "receipt_currency": "USD", "receipt_amount": "1200000.00", "declaration_no": "2102240400017"},
                {"line_no": 2, "contract_number": f"DLBC-2024-031-{run}", "contract_usd": "900000.00",
                 "executed_on": "2024-07-15", "executed_usd": "800000.00", "receipt_on": "2024-08-20",
                 "receipt_currency": "USD", "receipt_amount": "780000.00", "declaration_no": "2102240800031"}]},
            "贴息：本金 × 7.1884 × 3.10%"),
        Project(units["shenrong"], "tcm_construction", {
            "f1_commitment": commitment("郑参茸"),
            "f2_platform": {"platform_name": f"参茸中医药服务出口平台-{run}", "completed_on": "2024-08-01"},
            "tcm_base": {"base_name": "大连参茸中医药服务出口基地", "first_application": True},
            "f3_expenses": [expense(1, "information_system", "320000.00"),
                            expense(2, "production_equipment", "280000.00")]}, "中医药基地建设 50%"),
        Project(units["liaoshen"], "tcm_operation", {
            "f1_commitment": commitment("冯辽参"),
            "f2_platform": {"platform_name": f"辽参中医药国际营销平台-{run}", "completed_on": "2022-11-01"},
            "tcm_base": {"base_name": "大连辽参中医药服务出口基地", "first_application": False},
            "f3_expenses": [expense(1, "online_promotion", "150000.00"), expense(2, "trade_fair", "95000.00"),
                            expense(3, "packaging_design", "40000.00")]}, "中医药基地运维及品牌推广 80%"),
        Project(units["qiming"], "platform_construction", platform(
            f"启明公共服务平台-{run}", "2024-03-15", 3, [expense(1, "server", "150000.00")], "陈启明"),
            "服务企业不足 5 家（G1.1.2）"),
        Project(units["yuanyang"], "interest_subsidy", {
            "f1_commitment": commitment("褚远洋"), "offshore_execution": {"approved_usd": "3200000.00"},
            "f9_interest_contracts": [
                {"line_no": 1, "contract_number": f"YY-2024-002-{run}", "contract_usd": "800000.00",
                 "executed_on": "2024-05-01", "executed_usd": "800000.00", "receipt_on": "2024-06-01",
                 "receipt_currency": "USD", "receipt_amount": "800000.00", "declaration_no": "2102830600002"}]},
            "离岸执行额不足 500 万美元（G4.1.2）"),
        Project(units["hengxin"], "platform_operation", platform(
            f"恒信数据服务平台-{run}", "2022-06-01", 10, [expense(1, "cloud_lease", "120000.00")], "卫恒信"),
            "列入失信联合惩戒名单（N3.1）"),
        Project(units["beifang"], "platform_operation", platform(
            f"北方信息服务平台-{run}", "2022-01-10", 10,
            [expense(1, "system_maintenance", "90000.00", shared_invoice)], "蒋北方"),
            "重复申报发票（N3.3）", copy_of="xinghai"),
    ]
    registries = {
        "credit": [{"uscc": units["hengxin"].uscc, "kind": "major_tax_violation", "source": "信用中国（辽宁大连）",
                    "listed_on": "2023-03-01"}],
        "bases": [{"uscc": units["shenrong"].uscc, "base_name": "大连参茸中医药服务出口基地", "recognised_on": "2022-12-01"},
                  {"uscc": units["liaoshen"].uscc, "base_name": "大连辽参中医药服务出口基地", "recognised_on": "2021-12-01"}],
    }
    return list(units.values()), projects, registries


# --- the stages -------------------------------------------------------------------------------------------------

class Demo:
    """The programme run stage by stage, each printing what it did."""

    def __init__(self, base_url: str, admin_password: str, fund: str = FUND, wait_s: float = 120.0) -> None:
        self.base_url, self.fund, self.wait_s = base_url.rstrip("/"), fund, wait_s
        self.run = secrets.token_hex(3)
        self.password = secrets.token_urlsafe(18)
        self.admin = Api(self.base_url, self.token("admin", admin_password), "admin")
        self.apis: list[Api] = [self.admin]
        self.units, self.projects, self.registries = scenario(self.run)
        self.districts: dict[str, str] = {}
        self.result: dict[str, Any] = {"run": self.run}

    def token(self, username: str, password: str) -> str:
        """An access token from the gateway's password grant."""
        answer = httpx.post(f"{self.base_url}/auth/token", timeout=30.0, data={
            "grant_type": "password", "username": username, "password": password})
        if answer.status_code != 200:
            raise DemoError(f"no token for {username}: {answer.status_code} {answer.text[:200]}")
        return answer.json()["access_token"]

    def account(self, role: str, name: str, **binding: str) -> Api:
        """A new account of the programme (made by the admin) and its client."""
        username = f"demo-{self.run}-{name}"
        self.admin.post("/auth/users", json={"username": username, "password": self.password, "role": role,
                                             **binding})
        api = Api(self.base_url, self.token(username, self.password), username)
        self.apis.append(api)
        return api

    def set_clock(self, instant: str) -> None:
        """Move every service's calendar to `instant` (the admin's dev clock of a replayed edition)."""
        for service in SERVICES:
            self.admin.call("PUT", f"/api/v1/{service}/dev/clock", json={"now": instant})
        print(f"\n══ {instant[:10]} ══", flush=True)

    def close(self) -> None:
        for api in self.apis:
            api.close()

    # each stage ------------------------------------------------------------------------------------------------

    def calendar(self) -> None:
        """The services must run on a clock the admin can move (`make run` does)."""
        try:
            shown = self.admin.get(f"{I}/dev/clock")
        except DemoError as exc:
            raise DemoError("the services run on the wall clock, so the 2024 edition's deadlines and public notice "
                            "cannot be replayed: start them with `make run` (DEV_NOW sets the programme's clock); "
                            f"{exc}") from None
        print(f"fundflow demo {self.run}: {self.base_url}, programme clock at {shown['now']}")
        self.set_clock(CALENDAR["apply"])

    def accounts(self) -> None:
        """The officers and every unit's applicant account."""
        self.city = self.account("city_officer", "city")
        self.finance = self.account("finance_officer", "finance")
        self.auditor_name = f"demo-{self.run}-auditor"
        self.auditor = self.account("auditor", "auditor")
        names = {d["code"]: d["name"] for d in self.admin.get(f"{I}/districts")}
        self.districts = {u.district: names[u.district] for u in self.units}
        self.officers = {}
        bar = Progress("accounts", len(self.districts) + len(self.units))
        for code in sorted(self.districts):
            self.officers[code] = self.account("district_officer", f"district-{code}", district_code=code)
            bar.step()
        for unit in self.units:
            unit.api = self.account("applicant", unit.key, unit_uscc=unit.uscc)
            bar.step()
        bar.close()
        table("Accounts (POST /auth/users, tokens from POST /auth/token)", ["role", "accounts", "scope"], [
            ["city_officer", 1, "市商务局"], ["finance_officer", 1, "市财政局"], ["auditor", 1, "第三方审计机构"],
            ["district_officer", len(self.officers), clip("、".join(self.districts[c] for c in sorted(self.officers)),
                                                          40)],
            ["applicant", len(self.units), "one per unit (its USCC)"]], right={1})

    def registries_(self) -> None:
        """The city's registries: the credit list (N3.1) and the recognised TCM bases (G5.1.1)."""
        credit = self.city.post(f"{E}/registries/credit-entries", json=self.registries["credit"])
        bases = self.city.post(f"{E}/registries/recognised-bases", json=self.registries["bases"])
        names = {u.uscc: u.name for u in self.units}
        table("Registries (eligibility)", ["registry", "unit", "USCC", "entry"], [
            *[["credit list N3.1", names[e["uscc"]], e["uscc"], f"{e['kind']} since {e['listed_on']}"]
              for e in self.registries["credit"]],
            *[["TCM bases G5.1.1", names[b["uscc"]], b["uscc"], b["base_name"]] for b in self.registries["bases"]]],
        )
        assert credit["imported"] == 1 and bases["imported"] == 2

    def apply(self) -> None:
        """Each unit registers, fills its forms, uploads its evidence and submits (N3.5)."""
        parameters = {p["path"]: p["value"] for p in self.admin.get(f"{E}/editions/{EDITION}/parameters")}
        for unit in self.units:
            unit.applicant_id = unit.api.post(f"{I}/applicants", json={
                "uscc": unit.uscc, "name": unit.name, "legal_representative": "法定代表人", "district_code": unit.district,
                "registered_capital": "10000000.00", "contact_name": "项目联系人", "contact_phone": "0411-8265 0000",
                "bank_account_name": unit.name, "bank_name": "中国工商银行大连分行",
                "bank_account_number": f"3400 2000 {secrets.randbelow(10**10):010d}"})["id"]
        uploads = []
        for project in self.projects:
            kinds = list(parameters[f"materials.{project.project_type}"])
            title = (project.content.get("award") or {}).get("title")
            kinds += parameters.get(f"materials.brand_by_title.{title}", []) if title else []
            project.application = project.unit.api.post(f"{I}/applications", json={
                "applicant_id": project.unit.applicant_id, "project_type": project.project_type,
                "content": project.content})
            uploads += [(project, kind) for kind in kinds]
        bar = Progress("uploading evidence (PDF)", len(uploads))
        for project, kind in uploads:
            project.unit.api.post(f"{I}/applications/{project.application['id']}/documents",
                                  params={"kind": kind, "filename": f"{kind}.pdf"},
                                  content=pdf_bytes(f"{project.unit.uscc} {kind}"),
                                  headers={"Content-Type": "application/pdf"})
            bar.step()
        bar.close()
        # the originals first, evaluated, so that the copy of an invoice is the application N3.3 flags
        originals = [p for p in self.projects if p.copy_of is None]
        for project in originals:
            project.application = project.unit.api.post(f"{I}/applications/{project.application['id']}/submit")
        self.wait_evaluated([p for p in originals if p.unit.key in {q.copy_of for q in self.projects}],
                            "evaluating the originals of copied invoices")
        for project in self.projects:
            if project.copy_of is not None:
                project.application = project.unit.api.post(
                    f"{I}/applications/{project.application['id']}/submit")
        table("Applications submitted (intake)", ["unit", "district", "project type", "documents", "status"], [
            [p.unit.name, self.districts[p.unit.district], TYPE_ZH[p.project_type],
             sum(1 for q, _ in uploads if q is p), p.application["status"]] for p in self.projects], right={3})

    def wait_evaluated(self, projects: list[Project], label: str = "evaluation and pricing") -> None:
        """Wait until eligibility and calculation have answered (through intake's outbox) for these applications."""
        bar = Progress(label, len(projects))
        deadline = time.monotonic() + self.wait_s
        pending = list(projects)
        while pending:
            for project in list(pending):
                current = project.unit.api.get(f"{I}/applications/{project.application['id']}")
                if current["evaluation_status"] == "done":
                    project.application = current
                    pending.remove(project)
                    bar.step()
            if pending and time.monotonic() > deadline:
                raise DemoError(f"{len(pending)} applications still not evaluated after {self.wait_s:.0f} s")
            if pending:
                time.sleep(0.3)
        bar.close()

    def evaluations(self) -> None:
        """Every application evaluated against the edition's rules and priced."""
        self.wait_evaluated(self.projects)
        rows = []
        for p in self.projects:
            evaluation = p.application["evaluation"]
            failing = [c for c in evaluation["checks"] if c["outcome"] != "pass"]
            rows.append([p.unit.name, TYPE_ZH[p.project_type], evaluation["outcome"],
                         ", ".join(sorted({c["clause"] for c in failing})) or "—",
                         money((p.application["computation"] or {}).get("amount", "0")), p.story])
        table("Eligibility and amounts (every rule with its clause; amounts rounded down to the fen)",
              ["unit", "project type", "outcome", "clauses", "computed (元)", "case"], rows, right={4})

    def district_review(self) -> None:
        """Each district passes what it found in order, rejects the rest with the rule's reason, sends its table."""
        self.set_clock(CALENDAR["district"])
        rows = []
        for p in self.projects:
            evaluation = p.application["evaluation"]
            failing = [c for c in evaluation["checks"] if c["outcome"] != "pass"]
            if p.copy_of is not None:
                decision = {"decision": "reject", "reason": "发票已在本年度另一申请中申报：重复申报（N3.3）"}
            elif evaluation["outcome"] == "ineligible":
                decision = {"decision": "reject", "reason": "；".join(c["message_zh"] for c in failing)[:1000]}
            else:  # eligible, or flagged only as the original of a copied invoice: checked, it is the unit's own
                decision = {"decision": "pass", "reason": "经初审，材料齐全" if evaluation["outcome"] == "eligible"
                            else "经核查，发票为本单位真实支出"}
            officer = self.officers[p.unit.district]
            p.application = officer.post(f"{I}/applications/{p.application['id']}/review", json=decision)
            rows.append([self.districts[p.unit.district], p.unit.name, TYPE_ZH[p.project_type],
                         decision["decision"], clip(decision["reason"])])
        table("District review 初审 (N4.1)", ["district", "unit", "project type", "decision", "reason"], rows)
        sent = []
        for code, officer in sorted(self.officers.items()):
            if any(p.unit.district == code and p.application["status"] == "district_passed" for p in self.projects):
                summary = officer.get(f"{I}/districts/{code}/summary", params={"format": "csv"})
                lines = list(csv.reader(io.StringIO(summary.lstrip("\ufeff"))))
                # one sending per district and edition (N4.1): on a system that ran the demo before, it was sent
                record = officer.post(f"{I}/districts/{code}/submissions", expect=(201, 409))
                stamped = record["submitted_at"][:19] if "submitted_at" in record else "sent before (409)"
                sent.append([self.districts[code], code, len(lines) - 1, record.get("project_count", ""), stamped])
        table("District summaries 汇总表 sent to the city (before D3, 2025-12-29)",
              ["district", "code", "table rows", "projects", "stamped (UTC)"], sent, right={2, 3})

    def city_review(self) -> None:
        """The city takes the projects over, commissions the audit (one line disallowed) and spot-checks."""
        self.set_clock(CALENDAR["city"])
        imported = self.city.post(f"{D}/projects/import")
        passed = [p for p in self.projects if p.application["status"] == "district_passed"]
        bar = Progress("third-party audit", len(passed))
        rows = []
        for p in passed:
            page = self.city.get(f"{D}/projects", params={"application_id": p.application["id"]})
            p.project = page["items"][0]
            self.city.post(f"{D}/projects/{p.project['id']}/auditor", json={"auditor": self.auditor_name})
            if p.project_type == "platform_construction":
                opinion = {"opinion": "pass_with_adjustments", "note": "一项网络设备发票抬头与申报单位不符",
                           "disallowed": [{"form": "f3_expenses", "line_no": 3, "reason": "发票抬头与申报单位不符"}]}
            else:
                opinion = {"opinion": "pass", "note": "经审计，支出真实、合规"}
            p.project = self.auditor.post(f"{D}/projects/{p.project['id']}/audit", json=opinion)
            rows.append([p.unit.name, TYPE_ZH[p.project_type], money(p.project["computed_amount"]),
                         opinion["opinion"], money(p.project["audited_amount"])])
            bar.step()
        bar.close()
        table(f"Third-party audit (N4.2): {imported['imported']} projects taken over from the districts",
              ["unit", "project type", "computed (元)", "opinion", "audited (元)"], rows, right={2, 4})
        ours = {p.project["id"]: p for p in passed}
        drawn = self.city.post(f"{D}/spot-checks", json={"edition": EDITION, "size": 3, "seed": 20251222})
        rows = []
        for project_id in drawn["project_ids"]:
            self.city.post(f"{D}/spot-checks/{drawn['id']}/findings", json={
                "project_id": project_id, "outcome": "confirmed", "finding": "抽查核实：原件与复印件一致"})
            name = ours[project_id].unit.name if project_id in ours else project_id
            rows.append([name, "confirmed 核实无误"])
        table(f"Spot check 抽查 (N4.3): {drawn['size']} of {len(drawn['population'])} audited, seed {drawn['seed']}",
              ["unit", "finding"], rows)

    def plan(self) -> None:
        """The plan: unit caps, then one factor scaling it to the fund, exact to the fen; then its public notice."""
        plan = self.city.post(f"{D}/plans", json={"edition": EDITION, "budget": self.fund})
        rows = []
        for item in plan["items"]:
            rows.append([item["unit_name"], TYPE_ZH.get(item["project_type"], item["project_type"]),
                         money(item["computed_amount"]), money(item["capped_amount"]),
                         money(item["allocated_amount"])])
        rows.append(["合计 total", "", money(sum(Decimal(i["computed_amount"]) for i in plan["items"])),
                     money(sum(Decimal(i["capped_amount"]) for i in plan["items"])), money(plan["total"])])
        table(f"Allocation plan v{plan['version']} (N4.3): fund {money(plan['budget'])} 元, scaling factor "
              f"{plan['scaling_factor']}", ["unit", "project type", "audited (元)", "after unit cap (元)",
                                            "allocated (元)"], rows, right={2, 3, 4})
        names = {u.uscc: u.name for u in self.units}
        for step in plan["unit_caps_trace"]:
            if step["note"].startswith("over the cap"):
                inputs = step["inputs"]
                print(f"  unit cap {step['clause']}: {names.get(inputs['uscc'], inputs['uscc'])} asked "
                      f"{money(inputs['total'])} 元 over {len(inputs['amounts'])} projects; scaled together to the cap")
        if plan["scaling_factor"] == "1":
            print("  (the fund covers every amount: nothing to scale)")
        published = self.city.post(f"{D}/plans/{plan['id']}/publish")
        print(f"  published {published['published_on']}: public notice of {published['notice_working_days']} "
              f"working days, until {published['notice_ends_on']} included")
        self.the_plan = published

    def objection(self) -> None:
        """A unit objects to another's project during the notice; the city checks and dismisses it (N4.4)."""
        self.set_clock(CALENDAR["objection"])
        objector = next(p for p in self.projects if p.unit.key == "yuanyang").unit
        target = next(p for p in self.projects if p.unit.key == "bincheng")
        filed = objector.api.post(f"{D}/plans/{self.the_plan['id']}/objections", json={
            "project_id": target.project["id"], "statement": "该单位收汇金额与合同执行额不一致，贴息本金应核减",
            "evidence": "外汇收入申报单复印件"})
        resolved = self.city.post(f"{D}/objections/{filed['id']}/resolve", json={
            "decision": "dismissed", "resolution": "经核查，贴息本金已按收汇额与执行额孰低计算，异议不成立"})
        table("Objection during the public notice 公示异议 (N4.4)", ["filed by", "against", "statement", "decision"], [
            [objector.name, target.unit.name, clip(filed["statement"], 24), resolved["status"]]])

    def finalise(self) -> None:
        """After the notice (working days on the PRC calendar) the plan becomes final."""
        ends = date.fromisoformat(self.the_plan["notice_ends_on"])
        self.set_clock(f"{ends + timedelta(days=1)}T09:00:00+08:00")
        self.the_plan = self.city.post(f"{D}/plans/{self.the_plan['id']}/finalise")
        print(f"  plan {self.the_plan['id']} v{self.the_plan['version']} is {self.the_plan['status']}: "
              f"{money(self.the_plan['total'])} 元 to {len(self.the_plan['items'])} projects")
        self.result.update(plan_id=self.the_plan["id"], total=self.the_plan["total"], budget=self.the_plan["budget"])

    def pay(self) -> None:
        """Two legs, created exactly once (N4.5); a bank statement with one failure, its retry, the second one."""
        url = f"{D}/plans/{self.the_plan['id']}/payments"
        key = idempotency_key()
        instructions = self.finance.post(url, headers=key)
        replay = self.finance.post(url, headers=key)  # the same request again: the same instructions, no new ones
        assert [i["id"] for i in replay] == [i["id"] for i in instructions]
        by_project = {p.project.get("id"): p for p in self.projects}
        rows = []
        for i in instructions:
            payee = "市财政局 → 大连市商务局" if i["leg"] == "treasury" else f"市商务局 → {i['payee_name']}"
            rows.append([i["leg"], payee, i["end_to_end_id"], money(i["amount"])])
        table("Payment instructions (Idempotency-Key; repeating the request replayed the same set)",
              ["leg", "payer → payee", "end-to-end id", "amount (元)"], rows, right={3})
        units = [i for i in instructions if i["leg"] == "unit"]
        park = [i for i in units if i["project_id"] in by_project and by_project[i["project_id"]].unit.key == "park"]
        failing = (park or units)[-1]  # the park's payment fails once (the bank's system, not the account)
        lines = ["end_to_end_id,status,reason,amount"] + [
            f"{i['end_to_end_id']},failed,收款行系统故障未入账,{i['amount']}" if i is failing
            else f"{i['end_to_end_id']},paid,,{i['amount']}" for i in instructions]
        self.set_clock(f"{date.fromisoformat(self.the_plan['notice_ends_on']) + timedelta(days=2)}T16:00:00+08:00")
        first = self.bank_statement("\n".join(lines).encode())
        retry = self.finance.post(f"{D}/payments/{failing['id']}/retry", headers=idempotency_key())
        second = self.bank_statement(f"end_to_end_id,status,reason,amount\n{retry['end_to_end_id']},paid,,"
                                     f"{retry['amount']}\n".encode())
        table("Bank statements 银行回单", ["statement", "lines", "applied", "errors", "note"], [
            ["first", first["lines"], first["applied"], len(first["errors"]),
             f"{failing['payee_name']} failed: 收款行系统故障未入账"],
            ["retry", "", "", "", f"attempt {retry['attempt']} ({retry['end_to_end_id']}) linked to the failed one"],
            ["second", second["lines"], second["applied"], len(second["errors"]), "the retry paid"]],
            right={1, 2, 3})
        self.result.update(failed_instruction=failing["id"], retry_instruction=retry["id"])

    def bank_statement(self, content: bytes) -> dict:
        """A bank statement applied: a job, followed until it ends, then the statement's record."""
        job = self.finance.post(f"{D}/payments/statements", content=content, headers={"Content-Type": "text/csv"},
                                expect=(202,))
        while job["status"] in ("queued", "running"):
            time.sleep(0.2)
            job = self.finance.get(job["url"])
        if job["status"] != "succeeded":
            raise DemoError(f"the bank statement's job {job['status']}: {job['message']}")
        records = self.finance.get(f"{D}/payments/statements", params={"limit": 200})["items"]
        return next(r for r in records if r["id"] == job["result_ref"])

    def reconcile(self) -> dict:
        """Plan total = paid + pending + failed, per unit and in total, to the fen."""
        recon = self.finance.get(f"{D}/plans/{self.the_plan['id']}/reconciliation")
        rows = [[u["unit_name"], u["uscc"], money(u["planned"]), money(u["paid"]), money(u["pending"]),
                 money(u["failed"]), "yes" if u["balanced"] else "NO"] for u in recon["units"]]
        total = recon["total"]
        rows.append(["合计 total", "", money(total["planned"]), money(total["paid"]), money(total["pending"]),
                     money(total["failed"]), "yes" if recon["balanced"] else "NO"])
        table(f"Reconciliation of plan v{recon['version']} (treasury leg {recon['treasury']['status']})",
              ["unit", "USCC", "planned (元)", "paid (元)", "pending (元)", "failed (元)", "balanced"], rows,
              right={2, 3, 4, 5})
        self.result.update(reconciliation=recon)
        print(f"\nreconciled: {'balanced' if recon['balanced'] else 'NOT balanced'}, paid {money(total['paid'])} 元 "
              f"of {money(recon['plan_total'])} 元 (plan {self.the_plan['id']})")
        return recon

    def run_all(self) -> dict:
        """Every stage, in the programme's order."""
        for stage in (self.calendar, self.accounts, self.registries_, self.apply, self.evaluations,
                      self.district_review, self.city_review, self.plan, self.objection, self.finalise, self.pay,
                      self.reconcile):
            stage()
        return self.result


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.demo --base-url http://127.0.0.1:8000`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the gateway")
    parser.add_argument("--admin-password", default="admin-dev-password", help="password of the `admin` account")
    parser.add_argument("--fund", default=FUND, help="专项资金规模 (元) the plan must fit")
    parser.add_argument("--json-out", help="also write the plan id and its reconciliation to this file")
    args = parser.parse_args(argv)
    demo = Demo(args.base_url, args.admin_password, Decimal(args.fund).quantize(Decimal("0.01")).to_eng_string())
    started = time.monotonic()
    try:
        result = demo.run_all()
    except (DemoError, httpx.HTTPError) as exc:
        print(f"\ndemo stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.close()
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, ensure_ascii=False, indent=2)
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0 if result["reconciliation"]["balanced"] else 2


if __name__ == "__main__":
    sys.exit(main())
