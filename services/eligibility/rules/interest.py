"""Outsourcing interest subsidy (G4.2): contracts on form 9 and a conversion rate for every receipt currency."""
from __future__ import annotations

from .base import Check, Context, check, decided, lines, rule, within


@rule("interest.contracts")
def contracts(ctx: Context) -> list[Check]:
    """G4.2: form 9 lists the contracts; only execution and receipts in the period count towards the principal."""
    period = ctx.own("execution_period")
    listed = ctx.content.f9_interest_contracts or []
    if not listed:
        return [check("interest.contracts", period.clause, "fail", "未填报服务外包业务贴息支持申请表（附件9）",
                      "No contracts (form 9)")]
    outside = [c.line_no for c in listed
               if not within(c.executed_on, period.value) or not within(c.receipt_on, period.value)]
    start, end = period.value["start"], period.value["end"]
    if len(outside) == len(listed):
        return [check("interest.contracts", period.clause, "fail", f"附件9 所列合同的执行或收汇均不在 {start} 至 {end} 之间",
                      f"No contract on form 9 was executed and paid {start}..{end}", outside_lines=outside)]
    note_zh = f"；第 {lines(outside)} 行的执行或收汇不在支持期内，相应金额不计入本金" if outside else ""
    note_en = f"; lines {lines(outside)} fall partly outside the period and count only inside it" if outside else ""
    return [check("interest.contracts", period.clause, "pass", f"附件9 列有 {len(listed)} 份合同{note_zh}",
                  f"Form 9 lists {len(listed)} contracts{note_en}", outside_lines=outside)]


@rule("interest.receipt_currency")
def receipt_currency(ctx: Context) -> list[Check]:
    """G4.2 (Decision): a receipt currency without a rate in the edition's table goes to review, never a zero."""
    rates = ctx.own("cny_per_unit")
    listed = ctx.content.f9_interest_contracts or []
    if not listed:
        return []
    missing = sorted({c.receipt_currency for c in listed if c.receipt_currency not in rates.value})
    if not missing:
        return [check("interest.receipt_currency", rates.clause, "pass",
                      f"收汇币种均有折算汇率（{', '.join(sorted({c.receipt_currency for c in listed}))}）",
                      "Every receipt currency has a conversion rate")]
    return [check("interest.receipt_currency", rates.clause, decided(ctx.own("missing_currency_outcome")),
                  f"收汇币种 {', '.join(missing)} 无折算汇率，需人工核定",
                  f"No conversion rate for receipt currencies {', '.join(missing)}: an officer decides",
                  currencies=missing, known=sorted(rates.value))]
