"""Amounts of the project types: each type names its method in the edition (`<project_type>.amount_method`);
every figure a method uses is the type's parameter, cited in the trace with its clause.

Amount = the lower of rate × eligible base and the cap(s), rounded down to the fen so that a 不超过 limit is never
exceeded (POLICY.md, "Project types"). Decimal only.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from common.money import FEN, format_money
from common.parameters import Edition, Parameter

from .dossier import Dossier
from .trace import Cited, Trace, cited

ZERO = Decimal("0.00")


@dataclass
class InEffect:
    """An edition's parameters in effect on one reference date, each looked up once (a batch shares them)."""

    edition: Edition
    on: date
    _cited: dict[str, Cited] = field(default_factory=dict, init=False, repr=False)
    _unit_caps: list[tuple[str, Parameter]] | None = field(default=None, init=False, repr=False)

    def param(self, path: str) -> Cited:
        """A parameter of the edition by its full path, as in effect on the date."""
        found = self._cited.get(path)
        if found is None:
            # not kept when it raises (no value in effect): every dossier gets the same error
            found = self._cited[path] = cited(self.edition, path, self.on)
        return found

    def unit_cap_lists(self) -> list[tuple[str, Parameter]]:
        """(group, project types parameter) of every per-unit cap (G1.3.3, G5.2), in the order of their paths."""
        if self._unit_caps is None:
            self._unit_caps = [(path.rpartition(".")[0], parameter)
                               for path, parameter in sorted(self.edition.under("unit_caps").items())
                               if path.rpartition(".")[2] == "project_types"]
        return self._unit_caps


@dataclass
class Pricing:
    """A dossier, its edition's parameters in effect on the reference date, and the trace being written."""

    dossier: Dossier
    edition: Edition
    on: date
    trace: Trace
    in_effect: InEffect

    def param(self, path: str) -> Cited:
        """A parameter of the edition by its full path."""
        return self.in_effect.param(path)

    def own(self, name: str) -> Cited | None:
        """The project type's own parameter, or None when the edition has none."""
        path = f"{self.dossier.project_type}.{name}"
        return self.param(path) if self.edition.has(path) else None

    def disallowed(self, form: str) -> dict[int, str]:
        """Lines of a form the audit disallowed (N4.2), with the reason; unknown lines are warned about."""
        named = {d.line_no: d.reason for d in self.dossier.disallowed if d.form == form}
        present = {line.line_no for line in getattr(self.dossier.content, form) or []}
        missing = sorted(set(named) - present)
        if missing:
            self.trace.warn(f"disallowed lines {', '.join(map(str, missing))} of {form} are not in the dossier")
        return named


def floor_fen(value: Decimal) -> Decimal:
    """Round down to the fen, so that a 不超过 limit is never exceeded."""
    return value.quantize(FEN, rounding=ROUND_DOWN)


def unit_cap_of(pricing: Pricing) -> tuple[str, Cited] | None:
    """(group, cap) of the per-unit cap that covers the project type (G1.3.3, G5.2), if any."""
    for group, parameter in pricing.in_effect.unit_cap_lists():
        if pricing.dossier.project_type in parameter.at(pricing.on)[1]:
            return group, pricing.param(f"unit_caps.{group}.cap")
    return None


def rate_and_caps(pricing: Pricing, base: Decimal, rate: Cited, clause: str) -> Decimal:
    """min(rate × base, the type's cap, its unit's cap), floored to the fen; each step traced."""
    trace = pricing.trace
    raw = base * rate.value
    trace.add("rate", rate.clause, raw, inputs={"base": base}, parameter=rate, note=f"{base} × {rate.value}")
    return caps_and_rounding(pricing, raw, clause)


def caps_and_rounding(pricing: Pricing, raw: Decimal, clause: str) -> Decimal:
    """The type's cap, then the per-unit cap a single project must also respect, then rounding down."""
    trace, amount = pricing.trace, raw
    cap = pricing.own("cap")
    if cap is not None:
        trace.add("cap", cap.clause, min(amount, cap.value), inputs={"before": amount}, parameter=cap,
                  note="cap binds" if amount > cap.value else "cap does not bind")
        amount = min(amount, cap.value)
    unit = unit_cap_of(pricing)
    if unit is not None:
        group, unit_cap = unit
        trace.add("unit cap", unit_cap.clause, min(amount, unit_cap.value), inputs={"before": amount, "group": group},
                  parameter=unit_cap, note=("the unit's cap binds on this project alone" if amount > unit_cap.value
                                            else "within the unit's cap on its own; the unit's projects together "
                                                 "are capped by POST /unit-caps"))
        amount = min(amount, unit_cap.value)
    result = floor_fen(amount)
    trace.add("rounding", clause, result, inputs={"before": amount}, note="rounded down to the fen")
    return result


def award(pricing: Pricing) -> Decimal:
    """G3.2: an eligible title receives the award amount (Decision), at most the cap; no known title, nothing."""
    amount = pricing.own("award_amount")
    titles = pricing.own("titles")
    title = pricing.dossier.content.award.title if pricing.dossier.content.award else None
    if titles is not None and title not in titles.value:
        pricing.trace.add("award support", amount.clause, ZERO, inputs={"title": title}, parameter=titles,
                          note="no award title of the edition is declared: nothing to support")
        return ZERO
    pricing.trace.add("award support", amount.clause, amount.value, inputs={"title": title}, parameter=amount,
                      note="an eligible title receives the award amount")
    return caps_and_rounding(pricing, amount.value, amount.clause)


Method = Callable[[Pricing], Decimal]


@functools.cache
def methods() -> dict[str, Method]:
    """The amount methods an edition may name."""
    # imported here, once: those modules import this one
    from .certification import certification_fees
    from .expenses import expense_share
    from .interest import interest_subsidy
    return {"expense_share": expense_share, "certification_fees": certification_fees, "award": award,
            "interest_subsidy": interest_subsidy}


def compute(dossier: Dossier, edition: Edition, on: date, in_effect: InEffect | None = None
            ) -> tuple[Decimal, Trace]:
    """The amount of one project and its trace (`in_effect`: the edition's parameters on `on`, shared by a batch)."""
    trace = Trace()
    pricing = Pricing(dossier, edition, on, trace, in_effect or InEffect(edition, on))
    method = pricing.own("amount_method")
    amount = methods()[method.value](pricing)
    trace.add("amount", method.clause, amount, inputs={"project_type": dossier.project_type,
                                                       "reference_date": on}, parameter=method,
              note=f"{format_money(amount)} CNY")
    return amount, trace
