"""Platforms and their expenses: completion windows (G1.3.1, D4, G5.1.3, D5), served firms (G1.1.2), expense
lines that can count (G1.1.6, G5.1.5)."""
from __future__ import annotations

from .base import Check, Context, check, lines, rule, within
from .general import valid_uscc


def _completed_on(ctx: Context):
    platform = ctx.content.f2_platform
    return platform.completed_on if platform else None


@rule("platform.completed_within")
def completed_within(ctx: Context) -> list[Check]:
    """The platform was completed inside the type's window (or on or before its last day)."""
    window, latest = ctx.own("completed_within"), ctx.own("completed_on_or_before")
    cited = window or latest
    if cited is None:
        return []
    completed = _completed_on(ctx)
    if window is not None:
        start, end = window.value["start"], window.value["end"]
        ok, wanted_zh, wanted_en = within(completed, window.value), f"{start} 至 {end}", f"{start}..{end}"
    else:
        end = latest.value
        ok, wanted_zh, wanted_en = completed is not None and completed <= end, f"{end}（含）前", f"on or before {end}"
    if completed is None:
        return [check("platform.completed_within", cited.clause, "fail", "未填报平台建成时间（附件2）",
                      "The platform's completion date (form 2) is missing")]
    if ok:
        return [check("platform.completed_within", cited.clause, "pass",
                      f"平台于 {completed} 建成，在 {wanted_zh} 范围内", f"Platform completed on {completed}, "
                      f"within {wanted_en}", completed_on=completed)]
    return [check("platform.completed_within", cited.clause, "fail",
                  f"平台建成时间 {completed} 不在 {wanted_zh} 范围内",
                  f"Platform completed on {completed}, not {wanted_en}", completed_on=completed)]


@rule("platform.served_firms")
def served_firms(ctx: Context) -> list[Check]:
    """G1.1.2: a platform completed in the period served ≥ 5 Dalian firms, an older one ≥ 10."""
    # firms count once each (by USCC, else by name); one registered outside Dalian is not one of 我市 firms
    completed = _completed_on(ctx)
    if completed is None:
        return []  # platform.completed_within says what is missing
    period = ctx.param("support_period").value
    new = completed >= period["start"]
    minimum = ctx.param("served_firms.new_platform_minimum" if new else "served_firms.existing_platform_minimum")
    prefix = ctx.param("registration.dalian_division_prefix").value
    seen, not_counted = set(), []
    for firm in ctx.content.f4_served_firms or []:
        code = valid_uscc(firm.uscc) if firm.uscc else None
        key = code or "".join(firm.name.split()).lower()
        if firm.uscc and code is None:
            not_counted.append({"line_no": firm.line_no, "why": "统一社会信用代码无效 / invalid USCC"})
        elif code is not None and not code[2:8].startswith(prefix):
            not_counted.append({"line_no": firm.line_no, "why": "非本市企业 / registered outside Dalian"})
        elif not key or key in seen:
            not_counted.append({"line_no": firm.line_no, "why": "重复或未填名称 / listed twice or unnamed"})
        else:
            seen.add(key)
    count = len(seen)
    which_zh = "支持期内新建成平台" if new else "支持期前建成平台"
    which_en = "A platform completed within the support period" if new else "A platform completed before the period"
    left = f"（第 {lines([x['line_no'] for x in not_counted])} 行不计入）" if not_counted else ""
    details = {"count": count, "minimum": minimum.value, "not_counted": not_counted,
               "declared": ctx.content.f2_platform.served_firm_count}
    if count >= minimum.value:
        return [check("platform.served_firms", minimum.clause, "pass",
                      f"{which_zh}服务本市企业 {count} 家，不少于 {minimum.value} 家{left}",
                      f"{which_en} served {count} Dalian firms, at least {minimum.value}", **details)]
    return [check("platform.served_firms", minimum.clause, "fail",
                  f"{which_zh}服务本市企业 {count} 家，少于 {minimum.value} 家{left}",
                  f"{which_en} served {count} Dalian firms, fewer than {minimum.value}", **details)]


def classify_expenses(ctx: Context) -> tuple[list[int], list[dict]]:
    """(counted line numbers, left-out lines with why and clause): eligible kind and invoiced in the period."""
    kinds, period = ctx.own("eligible_expense_kinds"), ctx.own("invoice_period")
    excluded = ctx.param("expenses.excluded_kinds")
    counted, left_out = [], []
    for line in ctx.content.f3_expenses or []:
        if line.expense_kind in excluded.value:
            left_out.append({"line_no": line.line_no, "why": f"{line.expense_kind} 不予支持 / never eligible",
                             "clause": excluded.clause})
        elif line.expense_kind not in kinds.value:
            left_out.append({"line_no": line.line_no, "why": f"{line.expense_kind} 不属本类支持范围 / not an "
                             "eligible kind of this project type", "clause": kinds.clause})
        elif not within(line.invoice_date, period.value):
            left_out.append({"line_no": line.line_no, "why": f"发票日期 {line.invoice_date} 不在支持期内 / invoiced "
                             "outside the support period", "clause": period.clause})
        else:
            counted.append(line.line_no)
    return counted, left_out


@rule("expenses.eligible_lines")
def eligible_lines(ctx: Context) -> list[Check]:
    """G1.1.6, G5.1.5: lines invoiced outside the period or of another kind are left out; with none left, fail."""
    # Decision (POLICY.md): a line left out does not by itself make the application ineligible
    period = ctx.own("invoice_period")
    if not ctx.content.f3_expenses:
        return [check("expenses.eligible_lines", period.clause, "fail", "未填报费用支出清单（附件3）",
                      "No expense lines (form 3)")]
    counted, left_out = classify_expenses(ctx)
    start, end = period.value["start"], period.value["end"]
    if not counted:
        return [check("expenses.eligible_lines", period.clause, "fail",
                      f"没有可计入支持基数的费用（发票日期须在 {start} 至 {end} 之间且属支持类别）",
                      f"No expense line can count (invoiced {start}..{end}, of an eligible kind)",
                      counted_lines=counted, left_out=left_out)]
    if left_out:
        return [check("expenses.eligible_lines", period.clause, "pass",
                      f"{len(counted)} 行费用计入支持基数；第 {lines([x['line_no'] for x in left_out])} 行不计入",
                      f"{len(counted)} expense lines count; lines {lines([x['line_no'] for x in left_out])} are left "
                      "out of the base", counted_lines=counted, left_out=left_out)]
    return [check("expenses.eligible_lines", period.clause, "pass",
                  f"{len(counted)} 行费用均属支持类别，发票日期均在 {start} 至 {end} 之间",
                  f"All {len(counted)} expense lines are of eligible kinds and invoiced {start}..{end}",
                  counted_lines=counted, left_out=[])]
