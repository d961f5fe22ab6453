"""The requirements every project type shares: registration in Dalian (G1.1.1 …), F1 pledges, N3.1–N3.3."""
from __future__ import annotations

import functools

from stdnum.cn import uscc as uscc_code

from .base import Check, Context, check, decided, lines, rule


def _registration(ctx: Context):
    """The type's "Dalian-registered independent legal person" requirement (G1.1.1, G2.1.1, …), if it has one."""
    required = ctx.own("dalian_legal_person")
    return required if required is not None and required.value else None


@functools.lru_cache(maxsize=4096)
def _checked_uscc(value: str) -> tuple[str | None, str | None]:
    """(compact USCC, None) when its check digit holds, else (None, stdnum's reason)."""
    # cached: an evaluation checks its unit's code twice and stdnum takes ~40 µs a time (a third of a pre-check's rules)
    try:
        return uscc_code.validate(value), None
    except Exception as exc:  # noqa: BLE001 - stdnum raises several ValidationError kinds
        return None, str(exc)


def valid_uscc(value: str) -> str | None:
    """The compact USCC when its check digit holds, else None."""
    return _checked_uscc(value)[0]


@rule("applicant.uscc_valid")
def uscc_valid(ctx: Context) -> list[Check]:
    """GB 32100: the applicant's USCC has 18 characters and a valid check digit."""
    required = _registration(ctx)
    clause = required.clause if required else "N3"
    given = ctx.dossier.applicant.uscc
    compact, reason = _checked_uscc(given)
    if compact is None:  # stdnum's reason is the message
        return [check("applicant.uscc_valid", clause, "fail", f"统一社会信用代码 {given} 无效：{reason}",
                      f"The unified social credit code {given} is not valid: {reason}", uscc=given)]
    return [check("applicant.uscc_valid", clause, "pass", f"统一社会信用代码 {given} 校验通过",
                  f"The unified social credit code {given} is valid", uscc=given)]


@rule("applicant.registered_in_dalian")
def registered_in_dalian(ctx: Context) -> list[Check]:
    """Characters 3–8 of the USCC are the registering authority's division: Dalian's start with 2102."""
    required = _registration(ctx)
    code = valid_uscc(ctx.dossier.applicant.uscc)
    if required is None or code is None:
        return []
    prefix = ctx.param("registration.dalian_division_prefix").value
    division = code[2:8]
    if division.startswith(prefix):
        return [check("applicant.registered_in_dalian", required.clause, "pass",
                      f"登记机关区划码 {division} 属大连市", f"Registration division {division} is in Dalian",
                      division=division)]
    # Decision (POLICY.md): not rejected outright, some units register at provincial level
    outcome = decided(ctx.param("registration.outside_dalian_outcome"))
    return [check("applicant.registered_in_dalian", required.clause, outcome,
                  f"登记机关区划码 {division} 不属大连市（{prefix}xx），需核实注册地",
                  f"Registration division {division} is not Dalian's ({prefix}xx): the registration must be verified",
                  division=division)]


@rule("applicant.independent_legal_person")
def independent_legal_person(ctx: Context) -> list[Check]:
    """The applicant declares itself an independent legal person."""
    required = _registration(ctx)
    declared = ctx.dossier.applicant.independent_legal_person
    if required is None or declared is None:
        return []  # not declared apart: the first pledge of F1 covers it
    if declared:
        return [check("applicant.independent_legal_person", required.clause, "pass", "申报单位具有独立法人资格",
                      "The applicant is an independent legal person")]
    return [check("applicant.independent_legal_person", required.clause, "fail", "申报单位不具有独立法人资格",
                  "The applicant is not an independent legal person")]


@rule("commitment.pledges")
def pledges(ctx: Context) -> list[Check]:
    """附件1: every pledge of the commitment letter acknowledged (F1.6: no other fiscal support)."""
    listed = ctx.param("commitment.pledges")
    commitment = ctx.content.f1_commitment
    if commitment is None:
        return [check("commitment.pledges", listed.clause, "fail", "未提交承诺书（附件1）",
                      "The commitment letter (form 1) is missing")]
    missing = [key for key in listed.value if not commitment.pledges.get(key)]
    if not missing:
        return [check("commitment.pledges", listed.clause, "pass", f"承诺书 {len(listed.value)} 项承诺均已确认",
                      f"All {len(listed.value)} pledges of the commitment letter are acknowledged")]
    return [check("commitment.pledges", listed.value[key].get("clause", listed.clause), "fail",
                  f"承诺书未确认：{listed.value[key]['zh']}", f"Pledge not acknowledged: {listed.value[key]['en']}",
                  pledge=key) for key in missing]


@rule("credit.joint_punishment_list")
def credit_list(ctx: Context) -> list[Check]:
    """N3.1: not on the joint-punishment list in the five years before the reference date."""
    years = ctx.param("registries.credit_lookback_years")
    hits = ctx.registry.credit_hits()
    if not hits:
        return [check("credit.joint_punishment_list", years.clause, "pass",
                      f"截至 {ctx.on} 近 {years.value} 年未被列入失信联合惩戒名单",
                      f"Not on the joint-punishment credit list in the {years.value} years before {ctx.on}",
                      reference_date=ctx.on)]
    listed = "；".join(f"{h['kind_label']}（{h['source']}，{h['listed_on']} 至 {h['delisted_on'] or '今'}）" for h in hits)
    kinds = ", ".join(sorted({h["kind"] for h in hits}))
    return [check("credit.joint_punishment_list", years.clause, "fail",
                  f"截至 {ctx.on} 近 {years.value} 年内被列入失信联合惩戒名单：{listed}",
                  f"On the joint-punishment credit list in the {years.value} years before {ctx.on}: {kinds}",
                  reference_date=ctx.on, entries=hits)]


@rule("credit.debarment")
def debarment(ctx: Context) -> list[Check]:
    """N3.2: not debarred (forged materials or false invoices: three years) on the reference date."""
    years = ctx.param("registries.debarment_years")
    active = ctx.registry.debarments()
    if not active:
        return [check("credit.debarment", years.clause, "pass", f"截至 {ctx.on} 不在取消申报资格期内",
                      f"Not debarred on {ctx.on}", reference_date=ctx.on)]
    until = max(x["ends_on"] for x in active)
    reasons = "；".join(x["reason"] for x in active)
    return [check("credit.debarment", years.clause, "fail", f"因“{reasons}”被取消申报资格，至 {until} 止",
                  f"Debarred until {until} ({reasons})", reference_date=ctx.on, debarments=active)]


@rule("duplicate.invoice_claimed_twice")
def invoice_claimed_twice(ctx: Context) -> list[Check]:
    """N3.3: an invoice number claimed twice, in this application or in another of the edition."""
    if not ctx.content.f3_expenses:
        return []
    decision = ctx.param("duplicates.outcome")
    found = ctx.registry.duplicate_invoices()
    if not found:
        return [check("duplicate.invoice_claimed_twice", decision.clause, "pass", "未发现重复申报的发票",
                      "No invoice number is claimed twice")]
    texts_zh, texts_en, others = [], [], set()
    for item in found:
        if item["within"]:
            texts_zh.append(f"发票号码 {item['invoice_number']} 在本申请第 {lines(item['lines'])} 行重复")
            texts_en.append(f"invoice {item['invoice_number']} appears on lines {lines(item['lines'])} of this "
                            "application")
        else:
            others.add(item["application_id"])
            texts_zh.append(f"发票号码 {item['invoice_number']}（第 {lines(item['own_lines'])} 行）已由申请 "
                            f"{item['application_id']} 申报")
            texts_en.append(f"invoice {item['invoice_number']} (line {lines(item['own_lines'])}) is also claimed by "
                            f"application {item['application_id']}")
    named = sorted(others | ({ctx.dossier.application_id} if ctx.dossier.application_id else set()))
    return [check("duplicate.invoice_claimed_twice", decision.clause, decided(decision),
                  "重复申报：" + "；".join(texts_zh), "Claimed twice: " + "; ".join(texts_en),
                  duplicates=found, other_applications=sorted(others), applications=named)]


@rule("duplicate.project_declared_twice")
def project_declared_twice(ctx: Context) -> list[Check]:
    """N3.3: the same project (the same platform, or more of one type per unit than allowed) declared twice."""
    decision = ctx.param("duplicates.outcome")
    per_unit = ctx.own("projects_per_unit")
    found = ctx.registry.duplicate_projects(per_unit.value if per_unit is not None else 0)
    if not found:
        return []  # nothing to say unless something is found: most applications are alone
    others = sorted({x["application_id"] for x in found})
    return [check("duplicate.project_declared_twice", decision.clause, decided(decision),
                  f"疑似重复申报：与申请 {', '.join(others)} 为同一项目",
                  f"The same project may be declared twice: see applications {', '.join(others)}",
                  duplicates=found, other_applications=others)]
