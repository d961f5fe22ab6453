"""Amounts of the seven project types, each step traced with its inputs, the parameter used and its clause.

Amount = the lower of rate × eligible base and the cap, rounded down to the fen (POLICY.md, "Project types").
Decimal only; every figure comes from the edition's parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.money import FEN, Money, format_money
from common.parameters import Edition


class Loose(BaseModel):
    """The calculation service's own reading of the dossier: only the figures it prices."""

    model_config = ConfigDict(extra="ignore")


class Expense(Loose):
    line_no: int
    content: str = ""
    expense_kind: str
    invoice_amount: Money
    paid_amount: Money
    invoice_date: date


class Certification(Loose):
    line_no: int
    scheme: str
    certified_on: date
    fee: Money
    requested: Money


class InterestContract(Loose):
    line_no: int
    contract_number: str
    executed_on: date
    executed_usd: Money
    receipt_on: date
    receipt_currency: str = "USD"
    receipt_amount: Money


class Offshore(Loose):
    approved_usd: Money


class Content(Loose):
    f3_expenses: list[Expense] | None = None
    f5_certifications: list[Certification] | None = None
    f9_interest_contracts: list[InterestContract] | None = None
    offshore_execution: Offshore | None = None


class Disallowed(Loose):
    """A line the auditor disallowed (N4.2)."""

    form: str = Field(description="f3_expenses or f5_certifications")
    line_no: int = Field(description="序号 of the line")
    reason: str = Field(default="", description="Why")


class Dossier(Loose):
    """One application as the calculation service reads it (docs/dossier.md)."""

    edition: str = Field(description="Programme edition")
    application_id: str | None = Field(default=None, description="The application, or null for a pre-check")
    project_type: str = Field(description="项目类型")
    applicant: dict = Field(default_factory=dict, description="The applicant unit")
    content: Content = Field(default_factory=Content, description="The forms (附件1–9)")
    disallowed: list[Disallowed] = Field(default_factory=list, description="Lines disallowed by the audit (N4.2)")

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": "91210202MA0QXXXXX0"},
        "content": {"f3_expenses": [{"line_no": 1, "content": "服务器", "expense_kind": "server",
                                     "contract_amount": "120000.00", "invoice_amount": "120000.00",
                                     "paid_amount": "120000.00", "invoice_number": "04400001",
                                     "invoice_date": "2024-03-01"}]}}]})


@dataclass
class Trace:
    """The steps of one computation."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, clause: str, result: Any, *, inputs: dict | None = None,
            parameter: dict | None = None, note: str = "") -> None:
        self.steps.append({"step": step, "clause": clause, "inputs": inputs or {}, "parameter": parameter or {},
                           "result": _text(result), "note": note})


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    return value


def _param(edition: Edition, path: str) -> tuple[Any, dict]:
    value, clause = edition.cited(path)
    return value, {"name": path, "value": _text(value), "clause": clause}


def floor_fen(value: Decimal) -> Decimal:
    """Round down to the fen, so that a 不超过 limit is never exceeded."""
    return value.quantize(FEN, rounding=ROUND_DOWN)


def _within(day: date, window: dict) -> bool:
    return window["start"] <= day <= window["end"]


def _disallowed(dossier: Dossier, form: str) -> dict[int, str]:
    return {d.line_no: d.reason for d in dossier.disallowed if d.form == form}


def expense_base(dossier: Dossier, edition: Edition, kinds_path: str, clause: str, trace: Trace) -> Decimal:
    """Eligible base from the expense lines: eligible kind, invoiced in the period, not disallowed.

    Decision: a line counts for the lower of its invoice and paid amounts (what was both invoiced and paid).
    """
    kinds, kinds_param = _param(edition, kinds_path)
    period, period_param = _param(edition, "support_period")
    disallowed = _disallowed(dossier, "f3_expenses")
    counted, left_out, base = [], [], Decimal("0.00")
    for line in dossier.content.f3_expenses or []:
        if line.line_no in disallowed:
            left_out.append({"line_no": line.line_no, "why": f"disallowed by the audit: {disallowed[line.line_no]}",
                             "clause": "N4.2"})
        elif line.expense_kind == "software_development_self":
            left_out.append({"line_no": line.line_no, "why": "self-developed software is excluded", "clause": clause})
        elif line.expense_kind not in kinds:
            left_out.append({"line_no": line.line_no, "why": f"{line.expense_kind} is not an eligible kind",
                             "clause": kinds_param["clause"]})
        elif not _within(line.invoice_date, period):
            left_out.append({"line_no": line.line_no, "why": f"invoiced {line.invoice_date}, outside the period",
                             "clause": period_param["clause"]})
        else:
            amount = min(line.invoice_amount, line.paid_amount)
            counted.append({"line_no": line.line_no, "amount": str(amount)})
            base += amount
    trace.add("eligible base", clause, base, inputs={"counted": counted, "left_out": left_out},
              parameter={"kinds": kinds_param, "period": period_param},
              note="each counted line at the lower of its invoice and paid amounts")
    return base


def rate_and_cap(base: Decimal, edition: Edition, rate_path: str, cap_path: str | None, clause: str,
                 trace: Trace) -> Decimal:
    """min(rate × base, cap), floored to the fen, each step traced."""
    rate, rate_param = _param(edition, rate_path)
    raw = base * rate
    trace.add("rate", clause, raw, inputs={"base": str(base)}, parameter=rate_param)
    amount = raw
    if cap_path is not None:
        cap, cap_param = _param(edition, cap_path)
        amount = min(raw, cap)
        trace.add("cap", clause, amount, inputs={"before": str(raw)}, parameter=cap_param,
                  note="cap binds" if raw > cap else "cap does not bind")
    result = floor_fen(amount)
    trace.add("rounding", clause, result, inputs={"before": str(amount)}, note="rounded down to the fen")
    return result


def certification(dossier: Dossier, edition: Edition, trace: Trace) -> Decimal:
    """G2.2: 70 % of fees for certifications dated in the period, at most the requested amounts, cap per unit."""
    period, period_param = _param(edition, "support_period")
    disallowed = _disallowed(dossier, "f5_certifications")
    counted, left_out, fees, requested = [], [], Decimal("0.00"), Decimal("0.00")
    for item in dossier.content.f5_certifications or []:
        if item.line_no in disallowed:
            left_out.append({"line_no": item.line_no, "why": f"disallowed by the audit: {disallowed[item.line_no]}"})
        elif not _within(item.certified_on, period):
            left_out.append({"line_no": item.line_no, "why": f"certified {item.certified_on}, outside the period"})
        else:
            counted.append({"line_no": item.line_no, "fee": str(item.fee), "requested": str(item.requested)})
            fees += item.fee
            requested += item.requested
    trace.add("eligible fees", "G2.2", fees, inputs={"counted": counted, "left_out": left_out},
              parameter={"period": period_param})
    amount = rate_and_cap(fees, edition, "certification.rate", "certification.unit_cap", "G2.2", trace)
    if requested < amount:
        trace.add("requested", "G2.2", requested, inputs={"computed": str(amount)},
                  note="no more than the unit asked for")
        amount = requested
    return amount


def brand(dossier: Dossier, edition: Edition, trace: Trace) -> Decimal:
    """G3.2: the award's support, at most the cap (Decision: the cap is granted to an eligible title)."""
    cap, cap_param = _param(edition, "brand.cap")
    trace.add("award support", "G3.2", cap, parameter=cap_param, note="an eligible title receives the cap")
    return floor_fen(cap)


def interest_subsidy(dossier: Dossier, edition: Edition, trace: Trace) -> Decimal:
    """G4.2: min(approved execution, receipts) in USD × USD/CNY × LPR, capped."""
    period, period_param = _param(edition, "support_period")
    rates, rates_param = _param(edition, "interest_subsidy.cny_per_unit")
    usd_cny, usd_param = _param(edition, "interest_subsidy.usd_cny")
    executed, receipts, missing = Decimal("0.00"), Decimal("0"), []
    for contract in dossier.content.f9_interest_contracts or []:
        if _within(contract.executed_on, period):
            executed += contract.executed_usd
        if _within(contract.receipt_on, period):
            if contract.receipt_currency not in rates:
                missing.append(contract.receipt_currency)
                continue
            # other currencies go to USD through CNY at the edition's parities (Decision, G4.2)
            receipts += contract.receipt_amount * Decimal(str(rates[contract.receipt_currency])) / usd_cny
    approved = dossier.content.offshore_execution.approved_usd if dossier.content.offshore_execution else None
    if approved is not None:
        executed = min(executed, approved)
    receipts = floor_fen(receipts)
    principal = min(executed, receipts)
    trace.add("principal", "G4.2", principal,
              inputs={"approved_execution_usd": str(executed), "receipts_usd": str(receipts),
                      "currencies_without_rate": sorted(set(missing))},
              parameter={"period": period_param, "rates": rates_param},
              note="the lower of approved offshore execution and receipts, both within the period")
    cny = principal * usd_cny
    trace.add("to CNY", "G4.2", cny, inputs={"principal_usd": str(principal)}, parameter=usd_param)
    return rate_and_cap(cny, edition, "interest_subsidy.lpr", "interest_subsidy.cap", "G4.2", trace)


def compute(dossier: Dossier, edition: Edition) -> tuple[Decimal, list[dict]]:
    """The amount of one project and its trace."""
    trace = Trace()
    kind = dossier.project_type
    if kind == "platform_construction":
        base = expense_base(dossier, edition, "platform_construction.eligible_expense_kinds", "G1.3.1", trace)
        amount = rate_and_cap(base, edition, "platform_construction.rate", "platform_construction.cap", "G1.3.1",
                              trace)
    elif kind == "platform_operation":
        base = expense_base(dossier, edition, "platform_operation.eligible_expense_kinds", "G1.3.2", trace)
        amount = rate_and_cap(base, edition, "platform_operation.rate", "platform_operation.cap", "G1.3.2", trace)
    elif kind == "tcm_construction":
        base = expense_base(dossier, edition, "tcm_construction.eligible_expense_kinds", "G5.1.3", trace)
        amount = rate_and_cap(base, edition, "tcm_construction.rate", "tcm_unit_cap", "G5.2", trace)
    elif kind == "tcm_operation":
        base = expense_base(dossier, edition, "tcm_operation.eligible_expense_kinds", "G5.1.4", trace)
        amount = rate_and_cap(base, edition, "tcm_operation.rate", "tcm_unit_cap", "G5.2", trace)
    elif kind == "certification":
        amount = certification(dossier, edition, trace)
    elif kind == "brand":
        amount = brand(dossier, edition, trace)
    else:
        amount = interest_subsidy(dossier, edition, trace)
    trace.add("amount", "", amount, note=f"{format_money(amount)} CNY")
    return amount, trace.steps
