"""Outsourcing interest subsidy (G4.2): principal = min(approved offshore execution, receipts) in USD, × USD/CNY ×
LPR, capped. Receipts in another currency go to USD through CNY at the edition's parities (Decision)."""
from __future__ import annotations

from decimal import Decimal

from .amounts import ZERO, Pricing, floor_fen, rate_and_caps


def interest_subsidy(pricing: Pricing) -> Decimal:
    """Every figure of the principal in the trace, then to CNY, × LPR, capped, rounded down."""
    period, parities = pricing.own("execution_period"), pricing.own("cny_per_unit")
    usd_cny, lpr = pricing.own("usd_cny"), pricing.own("lpr")
    disallowed = pricing.disallowed("f9_interest_contracts")
    contracts, executed, receipts, missing = [], ZERO, Decimal(0), set()
    for contract in pricing.dossier.content.f9_interest_contracts or []:
        row = {"line_no": contract.line_no, "contract_number": contract.contract_number,
               "executed_on": contract.executed_on, "executed_usd": contract.executed_usd,
               "receipt_on": contract.receipt_on, "receipt_currency": contract.receipt_currency,
               "receipt_amount": contract.receipt_amount}
        in_period = lambda day: period.value["start"] <= day <= period.value["end"]  # noqa: E731
        if contract.line_no in disallowed:
            row["counted"] = f"no: disallowed by the audit: {disallowed[contract.line_no]} (N4.2)"
        else:
            if in_period(contract.executed_on):
                executed += contract.executed_usd
                row["execution_counted"] = True
            if not in_period(contract.receipt_on):
                row["receipt_counted"] = "no: received outside the period"
            elif contract.receipt_currency not in parities.value:
                missing.add(contract.receipt_currency)
                row["receipt_counted"] = "no: no rate for this currency (the application goes to review)"
            else:
                parity = Decimal(str(parities.value[contract.receipt_currency]))
                in_usd = contract.receipt_amount * parity / usd_cny.value
                receipts += in_usd
                row.update(receipt_counted=True, cny_per_unit=parity, receipt_usd=in_usd)
        contracts.append(row)
    if missing:
        pricing.trace.warn(f"no rate for receipt currencies {', '.join(sorted(missing))} (G4.2): those receipts are "
                           "not counted until an officer sets one")
    offshore = pricing.dossier.content.offshore_execution
    approved = min(executed, offshore.approved_usd) if offshore is not None else executed
    receipts = floor_fen(receipts)
    principal = min(approved, receipts)
    trace = pricing.trace
    trace.add("principal", period.clause, principal,
              inputs={"contracts": contracts, "executed_usd_in_period": executed,
                      "approved_offshore_execution_usd": offshore.approved_usd if offshore else None,
                      "approved_execution_usd": approved, "receipts_usd": receipts,
                      "currencies_without_rate": sorted(missing)},
              parameter={"period": period, "rates": parities, "usd_cny": usd_cny},
              note="the lower of the approved offshore execution (no more than executed in the period) and the "
                   "receipts in the period, in USD (other currencies through CNY)")
    cny = principal * usd_cny.value
    trace.add("to CNY", usd_cny.clause, cny, inputs={"principal_usd": principal}, parameter=usd_cny,
              note=f"{principal} × {usd_cny.value}")
    return rate_and_caps(pricing, cny, lpr, lpr.clause)
