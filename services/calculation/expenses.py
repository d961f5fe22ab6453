"""Amounts from expense lines (附件3): platform construction (G1.3.1) and O&M (G1.3.2), TCM construction (G5.1.3)
and O&M, branding and marketing (G5.1.4)."""
from __future__ import annotations

from decimal import Decimal

from .amounts import ZERO, Pricing, rate_and_caps

LINE_AMOUNTS = {
    "lower_of_invoice_and_paid": lambda line: min(line.invoice_amount, line.paid_amount),
    "invoice": lambda line: line.invoice_amount,
    "paid": lambda line: line.paid_amount,
}


def eligible_base(pricing: Pricing) -> Decimal:
    """The base: lines of an eligible kind, invoiced in the period (G1.1.6, G5.1.5), not disallowed (N4.2)."""
    # every line left out is named in the trace with why and the clause that leaves it out
    kinds, period = pricing.own("eligible_expense_kinds"), pricing.own("invoice_period")
    excluded, line_rule = pricing.param("expenses.excluded_kinds"), pricing.param("expenses.line_amount")
    disallowed = pricing.disallowed("f3_expenses")
    counted, left_out, base = [], [], ZERO
    for line in pricing.dossier.content.f3_expenses or []:
        if line.line_no in disallowed:
            left_out.append({"line_no": line.line_no, "why": f"disallowed by the audit: {disallowed[line.line_no]}",
                             "clause": "N4.2"})
        elif line.expense_kind in excluded.value:
            left_out.append({"line_no": line.line_no, "why": f"{line.expense_kind} is never eligible (self-developed "
                             "software is excluded)", "clause": excluded.clause})
        elif line.expense_kind not in kinds.value:
            left_out.append({"line_no": line.line_no, "why": f"{line.expense_kind} is not an eligible kind of "
                             f"{pricing.dossier.project_type}", "clause": kinds.clause})
        elif not period.value["start"] <= line.invoice_date <= period.value["end"]:
            left_out.append({"line_no": line.line_no, "why": f"invoiced {line.invoice_date}, outside the period",
                             "clause": period.clause})
        else:
            amount = LINE_AMOUNTS[line_rule.value](line)
            counted.append({"line_no": line.line_no, "content": line.content, "kind": line.expense_kind,
                            "invoice_amount": line.invoice_amount, "paid_amount": line.paid_amount,
                            "amount": amount})
            base += amount
    pricing.trace.add("eligible base", period.clause, base, inputs={"counted": counted, "left_out": left_out},
                      parameter={"kinds": kinds, "period": period, "excluded": excluded, "line_amount": line_rule},
                      note=f"{len(counted)} lines counted ({line_rule.value.replace('_', ' ')}), "
                           f"{len(left_out)} left out")
    return base


def expense_share(pricing: Pricing) -> Decimal:
    """rate × eligible base, capped, rounded down."""
    base = eligible_base(pricing)
    rate = pricing.own("rate")
    return rate_and_caps(pricing, base, rate, rate.clause)
