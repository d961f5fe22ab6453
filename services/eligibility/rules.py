"""Every requirement of POLICY.md as a check: rule id, the clause it enforces, outcome, message in Chinese and English.

Figures come from the edition's parameters (editions/<edition>.yaml); the registries' hits are passed in.
A check's outcome is `pass`, `fail` (ineligible) or `review` (an officer decides: needs_review).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import uscc as uscc_code

from common.parameters import Edition

from .dossier import Dossier, usd

PLEDGE_LABELS = {
    "lawful_registration": ("依法注册，具有独立法人资格，并合法经营", "registered lawfully as an independent legal person"),
    "complete_materials": ("提供了全部的凭证与资料", "all vouchers and materials provided"),
    "authentic_materials": ("申报材料准确、真实、完整和有效", "materials accurate, true, complete and valid"),
    "copies_match_originals": ("复印件均与原件核对一致", "copies checked against the originals"),
    "credit_clean": ("近五年未被列入失信联合惩戒名单", "not on the joint-punishment list in five years"),
    "no_other_fiscal_support": ("未获得其他财政专项资金支持", "no other fiscal special-fund support"),
    "accept_verification": ("接受必要核查", "accepts verification"),
}
REGISTRATION_CLAUSE = {"platform_construction": "G1.1.1", "platform_operation": "G1.1.1", "certification": "G2.1.1",
                       "brand": "G3.1.1", "interest_subsidy": "G4.1.1", "tcm_construction": "G5.1.2",
                       "tcm_operation": "G5.1.2"}


@dataclass
class Check:
    """One rule applied to one dossier."""

    rule: str
    clause: str
    outcome: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RegistryFacts:
    """What the registries say about the dossier's unit, as of its reference date."""

    reference_date: date
    credit_hits: list[dict]
    debarments: list[dict]
    recognised_base: dict | None
    duplicate_invoices: list[dict]
    duplicate_projects: list[dict] = field(default_factory=list)


def _ok(rule, clause, zh, en, **details) -> Check:
    return Check(rule, clause, "pass", zh, en, details)


def _fail(rule, clause, zh, en, **details) -> Check:
    return Check(rule, clause, "fail", zh, en, details)


def _review(rule, clause, zh, en, **details) -> Check:
    return Check(rule, clause, "review", zh, en, details)


def _within(day: date | None, window: dict) -> bool:
    return day is not None and window["start"] <= day <= window["end"]


def general_checks(d: Dossier, e: Edition, facts: RegistryFacts) -> list[Check]:
    """The requirements every project type shares (N3.1–N3.3, F1, registration in Dalian)."""
    checks: list[Check] = []
    clause = REGISTRATION_CLAUSE.get(d.project_type, "G1.1.1")
    try:
        code = uscc_code.validate(d.applicant.uscc)
    except Exception as exc:  # stdnum's reason is the message
        return [_fail("applicant.uscc_valid", clause, f"统一社会信用代码无效：{exc}",
                      f"The unified social credit code is not valid: {exc}", uscc=d.applicant.uscc)]
    division = code[2:8]
    if division.startswith("2102"):
        checks.append(_ok("applicant.registered_in_dalian", clause, f"登记机关区划码 {division} 属大连市",
                          f"Registration division {division} is in Dalian", division=division))
    else:  # Decision (POLICY.md): not rejected outright, some units register at provincial level
        checks.append(_review("applicant.registered_in_dalian", clause,
                              f"登记机关区划码 {division} 不属大连市（2102xx），需人工核实注册地",
                              f"Registration division {division} is not Dalian's (2102xx): verify the registration",
                              division=division))
    if d.applicant.independent_legal_person is False:
        checks.append(_fail("applicant.independent_legal_person", clause, "申报单位不具有独立法人资格",
                            "The applicant is not an independent legal person"))
    checks.extend(pledge_checks(d))
    if facts.credit_hits:
        kinds = ", ".join(sorted({h["kind"] for h in facts.credit_hits}))
        checks.append(_fail("credit.joint_punishment_list", "N3.1",
                            f"近五年内被列入失信联合惩戒名单（{kinds}）", f"On the joint-punishment credit list "
                            f"within five years ({kinds})", entries=facts.credit_hits,
                            reference_date=facts.reference_date.isoformat()))
    else:
        checks.append(_ok("credit.joint_punishment_list", "N3.1", "近五年未被列入失信联合惩戒名单",
                          "Not on the joint-punishment credit list within five years",
                          reference_date=facts.reference_date.isoformat()))
    if facts.debarments:
        until = max(x["ends_on"] for x in facts.debarments)
        checks.append(_fail("credit.debarment", "N3.2", f"因提供虚假材料被取消申报资格，至 {until}",
                            f"Debarred for false materials until {until}", debarments=facts.debarments))
    else:
        checks.append(_ok("credit.debarment", "N3.2", "不在取消申报资格期内", "Not debarred"))
    if facts.duplicate_invoices:
        numbers = ", ".join(sorted({x["invoice_number"] for x in facts.duplicate_invoices}))
        others = sorted({x["application_id"] for x in facts.duplicate_invoices if x.get("application_id")})
        checks.append(_review("duplicate.invoice_claimed_twice", "N3.3",
                              f"发票号码重复申报：{numbers}", f"Invoice numbers claimed more than once: {numbers}",
                              duplicates=facts.duplicate_invoices, other_applications=others))
    elif d.content.f3_expenses:
        checks.append(_ok("duplicate.invoice_claimed_twice", "N3.3", "未发现重复申报的发票",
                          "No invoice number is claimed twice"))
    if facts.duplicate_projects:
        others = sorted({x["application_id"] for x in facts.duplicate_projects})
        checks.append(_review("duplicate.project_declared_twice", "N3.3",
                              f"疑似重复申报：与申请 {', '.join(others)} 为同一项目",
                              f"The same project may be declared twice: see applications {', '.join(others)}",
                              duplicates=facts.duplicate_projects, other_applications=others))
    return checks


def pledge_checks(d: Dossier) -> list[Check]:
    """附件1: every pledge of the commitment letter acknowledged (F1.6: no other fiscal support)."""
    commitment = d.content.f1_commitment
    if commitment is None:
        return [_fail("commitment.present", "F1", "未提交承诺书（附件1）", "The commitment letter (form 1) is missing")]
    missing = [key for key in PLEDGE_LABELS if not commitment.pledges.get(key)]
    if not missing:
        return [_ok("commitment.pledges", "F1", "承诺书七项承诺均已确认", "All seven pledges are acknowledged")]
    clause = "F1.6" if missing == ["no_other_fiscal_support"] else "F1"
    return [_fail("commitment.pledges", clause, "承诺书未确认：" + "；".join(PLEDGE_LABELS[k][0] for k in missing),
                  "Pledges not acknowledged: " + "; ".join(PLEDGE_LABELS[k][1] for k in missing), missing=missing)]


def _served_firms(d: Dossier, e: Edition, completed_in_period: bool) -> Check:
    """G1.1.2: ≥ 5 served firms for a platform new in the period, ≥ 10 for an older one."""
    key = "served_firms.new_platform_minimum" if completed_in_period else "served_firms.existing_platform_minimum"
    minimum, clause = e.cited(key)
    count = len(d.content.f4_served_firms or [])
    which_zh = "支持期内新建成平台" if completed_in_period else "支持期前建成平台"
    which_en = "a platform completed within the support period" if completed_in_period else "an older platform"
    if count >= minimum:
        return _ok("platform.served_firms", clause, f"{which_zh}服务本市企业 {count} 家，不少于 {minimum} 家",
                   f"{which_en} served {count} firms, at least {minimum}", count=count, minimum=minimum)
    return _fail("platform.served_firms", clause, f"{which_zh}服务本市企业 {count} 家，少于 {minimum} 家",
                 f"{which_en} served {count} firms, fewer than {minimum}", count=count, minimum=minimum)


def _expense_dates(d: Dossier, e: Edition, clause: str) -> Check:
    """G1.1.6 / G5.1.5: lines invoiced outside the support period are left out of the base (Decision)."""
    period = e.value("support_period")
    lines = d.content.f3_expenses or []
    outside = [x.line_no for x in lines if not _within(x.invoice_date, period)]
    if not lines:
        return _fail("expenses.present", clause, "未填报费用支出清单（附件3）", "No expense lines (form 3)")
    if len(outside) == len(lines):
        return _fail("expenses.invoice_dates", clause, "全部发票开具日期均不在支持期内",
                     "Every invoice is dated outside the support period", outside_lines=outside)
    if outside:
        return _ok("expenses.invoice_dates", clause,
                   f"第 {', '.join(map(str, outside))} 行发票日期不在支持期内，不计入支持基数",
                   f"Lines {', '.join(map(str, outside))} are invoiced outside the support period and left out "
                   "of the base", outside_lines=outside)
    return _ok("expenses.invoice_dates", clause, "发票日期均在支持期内", "Every invoice is dated within the period")


def platform_construction(d: Dossier, e: Edition) -> list[Check]:
    """G1.3.1: completed within the window, served firms, invoice dates."""
    window, clause = e.cited("platform_construction.completed_within")
    platform = d.content.f2_platform
    completed = platform.completed_on if platform else None
    if not _within(completed, window):
        return [_fail("platform.completed_within", clause, f"平台建成时间 {completed} 不在 {window['start']} 至 "
                      f"{window['end']} 之间", f"Platform completed on {completed}, outside {window['start']}.."
                      f"{window['end']}", completed_on=str(completed)), _expense_dates(d, e, "G1.1.6")]
    return [_ok("platform.completed_within", clause, f"平台于 {completed} 建成，在支持期内",
                f"Platform completed on {completed}, within the period"),
            _served_firms(d, e, True), _expense_dates(d, e, "G1.1.6")]


def platform_operation(d: Dossier, e: Edition) -> list[Check]:
    """G1.3.2: built within D4, O&M in the period, served firms of an older platform."""
    window, clause = e.cited("platform_operation.built_within")
    platform = d.content.f2_platform
    completed = platform.completed_on if platform else None
    built = (_ok if _within(completed, window) else _fail)(
        "platform.built_within", clause, f"平台建成时间 {completed}（要求 {window['start']} 至 {window['end']}）",
        f"Platform built on {completed} (required {window['start']}..{window['end']})", completed_on=str(completed))
    return [built, _served_firms(d, e, False), _expense_dates(d, e, "G1.1.6")]


def _offshore(d: Dossier, e: Edition, key: str, rule: str) -> Check:
    minimum, clause = e.cited(key)
    offshore = d.content.offshore_execution
    amount = offshore.approved_usd if offshore else None
    if amount is None:
        return _fail(rule, clause, "未填报支持期内离岸执行额", "No approved offshore execution declared")
    words_zh = f"离岸执行额 {usd(amount)} 美元"
    if amount >= minimum:
        return _ok(rule, clause, f"{words_zh}，不低于 {usd(minimum)} 美元 ({clause})",
                   f"Offshore execution USD {usd(amount)}, at least USD {usd(minimum)} ({clause})",
                   amount_usd=str(amount), minimum_usd=str(minimum))
    return _fail(rule, clause, f"{words_zh}，低于 {minimum / 10000:,.0f} 万美元 ({clause})",
                 f"Offshore execution USD {usd(amount)}, below USD {usd(minimum)} ({clause})",
                 amount_usd=str(amount), minimum_usd=str(minimum))


def certification(d: Dossier, e: Edition) -> list[Check]:
    """G2.1.2 offshore ≥ USD 1M; G2.2 at most five items, dates in the period, recognised schemes."""
    checks = [_offshore(d, e, "certification.offshore_minimum_usd", "certification.offshore_execution")]
    items = d.content.f5_certifications or []
    limit, clause = e.cited("certification.max_items")
    if not items:
        checks.append(_fail("certification.items", clause, "未填报认证项目（附件5）", "No certification items (form 5)"))
        return checks
    if len(items) > limit:
        checks.append(_fail("certification.items", clause, f"认证项目 {len(items)} 项，超过 {limit} 项上限",
                            f"{len(items)} certification items, more than the limit of {limit}"))
    period = e.value("support_period")
    outside = [c.line_no for c in items if not _within(c.certified_on, period)]
    checks.append((_fail if len(outside) == len(items) else _ok)(
        "certification.dates", clause,
        "认证时间均在支持期内" if not outside else f"第 {', '.join(map(str, outside))} 项认证时间不在支持期内，不予计入",
        "Every certification is dated within the period" if not outside else
        f"Items {', '.join(map(str, outside))} are dated outside the period and left out", outside_lines=outside))
    recognised = {s.upper().replace("-", "").replace(" ", "") for s in e.value("certification.recognised_schemes")}
    unlisted = [c.scheme for c in items if c.scheme.upper().replace("-", "").replace(" ", "") not in recognised]
    if unlisted:  # Decision: the notice's list ends with 等; an unlisted scheme is reviewed, not refused
        checks.append(_review("certification.scheme_recognised", clause,
                              f"认证 {', '.join(unlisted)} 不在列举范围内，需人工认定",
                              f"Schemes {', '.join(unlisted)} are not listed: an officer decides", schemes=unlisted))
    else:
        checks.append(_ok("certification.scheme_recognised", clause, "认证均属列举范围", "Every scheme is listed"))
    return checks


def brand(d: Dossier, e: Edition) -> list[Check]:
    """G3.1.2: a recognised title; group A titles need offshore execution ≥ USD 1M."""
    group_a, clause = e.cited("brand.group_a_titles")
    group_b = e.value("brand.group_b_titles")
    title = d.content.award.title if d.content.award else None
    if title in group_a:
        return [_ok("brand.title", clause, f"荣誉 {title} 属A组", f"Title {title} is in group A", group="A"),
                _offshore(d, e, "brand.group_a_offshore_minimum_usd", "brand.offshore_execution")]
    if title in group_b:
        return [_ok("brand.title", clause, f"荣誉 {title} 属B组，无离岸执行额要求",
                    f"Title {title} is in group B: no offshore threshold", group="B")]
    return [_fail("brand.title", clause, f"荣誉 {title} 不在支持范围内", f"Title {title} is not a supported award")]


def interest_subsidy(d: Dossier, e: Edition) -> list[Check]:
    """G4.1.2 offshore ≥ USD 5M; G4.2 every receipt currency has a rate in the edition's table."""
    checks = [_offshore(d, e, "interest_subsidy.offshore_minimum_usd", "interest.offshore_execution")]
    rates, clause = e.cited("interest_subsidy.cny_per_unit")
    contracts = d.content.f9_interest_contracts or []
    if not contracts:
        checks.append(_fail("interest.contracts", clause, "未填报贴息合同（附件9）", "No contracts (form 9)"))
        return checks
    missing = sorted({c.receipt_currency for c in contracts if c.receipt_currency not in rates})
    if missing:  # Decision: never a silent zero
        checks.append(_review("interest.receipt_currency", clause, f"收汇币种 {', '.join(missing)} 无折算汇率，需人工核定",
                              f"No conversion rate for receipt currencies {', '.join(missing)}: an officer decides",
                              currencies=missing))
    else:
        checks.append(_ok("interest.receipt_currency", clause, "收汇币种均有折算汇率", "Every receipt currency has a rate"))
    return checks


def _tcm_base(facts: RegistryFacts) -> Check:
    if facts.recognised_base is None:
        return _fail("tcm.recognised_base", "G5.1.1", "申报单位不在国家中医药服务出口基地名录中",
                     "The applicant is not a recognised national TCM service export base")
    return _ok("tcm.recognised_base", "G5.1.1", f"已认定基地：{facts.recognised_base['base_name']}",
               f"Recognised base: {facts.recognised_base['base_name']}")


def tcm_construction(d: Dossier, e: Edition, facts: RegistryFacts) -> list[Check]:
    """G5.1.1 recognised base; G5.1.3 built in the period and first application; G5.1.5 invoice dates."""
    window, clause = e.cited("tcm_construction.built_within")
    completed = d.content.f2_platform.completed_on if d.content.f2_platform else None
    first = d.content.tcm_base.first_application if d.content.tcm_base else None
    return [
        _tcm_base(facts),
        (_ok if _within(completed, window) else _fail)(
            "tcm.built_within", clause, f"基地平台建成时间 {completed}（要求 {window['start']} 至 {window['end']}）",
            f"Base platform built on {completed} (required {window['start']}..{window['end']})"),
        (_ok if first else _fail)("tcm.first_application", clause, "首次申报基地建设支持" if first else
                                  "非首次申报基地建设支持", "First application for construction support" if first else
                                  "Not the first application for construction support"),
        _expense_dates(d, e, "G5.1.5"),
    ]


def tcm_operation(d: Dossier, e: Edition, facts: RegistryFacts) -> list[Check]:
    """G5.1.1 recognised base; G5.1.4/D5 built on or before 2023-06-30; G5.1.5 invoice dates."""
    latest, clause = e.cited("tcm_operation.built_on_or_before")
    completed = d.content.f2_platform.completed_on if d.content.f2_platform else None
    ok = completed is not None and completed <= latest
    return [_tcm_base(facts),
            (_ok if ok else _fail)("tcm.built_before", clause, f"基地平台建成时间 {completed}（要求不晚于 {latest}）",
                                   f"Base platform built on {completed} (required on or before {latest})"),
            _expense_dates(d, e, "G5.1.5")]


def type_checks(d: Dossier, e: Edition, facts: RegistryFacts) -> list[Check]:
    """The checks of the dossier's project type."""
    by_type = {"platform_construction": platform_construction, "platform_operation": platform_operation,
               "certification": certification, "brand": brand, "interest_subsidy": interest_subsidy}
    if d.project_type in by_type:
        return by_type[d.project_type](d, e)
    if d.project_type == "tcm_construction":
        return tcm_construction(d, e, facts)
    return tcm_operation(d, e, facts)


def outcome(checks: list[Check]) -> str:
    """ineligible if any check fails, needs_review if any asks for review, eligible otherwise."""
    if any(c.outcome == "fail" for c in checks):
        return "ineligible"
    if any(c.outcome == "review" for c in checks):
        return "needs_review"
    return "eligible"
