"""International certification (G2.2): 70 % of the fees of certifications obtained in the period, at most what the
unit asked for per item (Decision), capped per unit; more than five items is refused."""
from __future__ import annotations

from decimal import Decimal

from common.problems import Unprocessable

from .amounts import ZERO, Pricing, caps_and_rounding


def certification_fees(pricing: Pricing) -> Decimal:
    """Σ min(fee × rate, requested) over the counted items, capped, rounded down."""
    items = pricing.dossier.content.f5_certifications or []
    limit, rate = pricing.own("max_items"), pricing.own("rate")
    period, to_requested = pricing.own("certified_within"), pricing.own("limit_to_requested")
    if len(items) > limit.value:
        raise Unprocessable(f"At most {limit.value} certification items per unit ({limit.clause}); the dossier "
                            f"lists {len(items)}.", clause=limit.clause, errors=[{
                                "field": "body.content.f5_certifications", "message": f"at most {limit.value} items",
                                "code": "too_long"}])
    disallowed = pricing.disallowed("f5_certifications")
    counted, left_out, fees, supported = [], [], ZERO, Decimal(0)
    for item in items:
        if item.line_no in disallowed:
            left_out.append({"line_no": item.line_no, "why": f"disallowed by the audit: {disallowed[item.line_no]}",
                             "clause": "N4.2"})
        elif not period.value["start"] <= item.certified_on <= period.value["end"]:
            left_out.append({"line_no": item.line_no, "why": f"certified {item.certified_on}, outside the period",
                             "clause": period.clause})
        else:
            share = item.fee * rate.value
            support = min(share, item.requested) if to_requested.value else share
            counted.append({"line_no": item.line_no, "scheme": item.scheme, "fee": item.fee, "share": share,
                            "requested": item.requested, "support": support})
            fees += item.fee
            supported += support
    trace = pricing.trace
    trace.add("eligible fees", period.clause, fees, inputs={"counted": counted, "left_out": left_out},
              parameter={"period": period, "max_items": limit})
    raw = fees * rate.value
    trace.add("rate", rate.clause, raw, inputs={"base": fees}, parameter=rate, note=f"{fees} × {rate.value}")
    if to_requested.value:
        trace.add("requested", to_requested.clause, supported, inputs={"before": raw}, parameter=to_requested,
                  note="no item gets more than the unit asked for on form 5" if supported < raw
                  else "every item within what the unit asked for")
    return caps_and_rounding(pricing, supported, rate.clause)
