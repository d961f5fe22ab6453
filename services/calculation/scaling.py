"""Scaling amounts down to a total, exact to the fen: unit caps (G1.3.3, G5.2) and the fund size (统筹调整, N4.3)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from decimal import ROUND_DOWN, Decimal, localcontext

from common.money import FEN
from common.problems import Unprocessable

from .schemas import BudgetScalingIn, BudgetScalingRead, ScaledItem
from .trace import Trace

ZERO = Decimal("0.00")
FACTOR_PLACES = Decimal("0.000000000001")  # the factor is reported, not used: every share is exact to the fen
OTHERS = None  # the budget group of the types without a budget of their own
SCALED_FIELDS = frozenset(ScaledItem.model_fields)  # given to model_construct, which otherwise works it out per item


def scale_to_total(amounts: dict[Hashable, Decimal], total: Decimal) -> tuple[dict[Hashable, Decimal], Decimal]:
    """(scaled amounts, factor): pro rata to exactly `total` when they exceed it, else unchanged with factor 1."""
    # each share is floored to the fen, then the fens left over go one each to the largest remainders (ties to the
    # earlier key): the sum is exact and nobody gets more than computed (Decision, POLICY.md G1.3.3, N4.3)
    current = sum(amounts.values(), ZERO)
    if current <= total:
        return dict(amounts), Decimal(1)
    with localcontext() as ctx:
        ctx.prec = 50
        raw = {key: value * total / current for key, value in amounts.items()}
        factor = total / current
    floored = {key: value.quantize(FEN, rounding=ROUND_DOWN) for key, value in raw.items()}
    left_over = int((total - sum(floored.values(), ZERO)) / FEN)
    position = {key: index for index, key in enumerate(amounts)}
    order = sorted(raw, key=lambda key: (floored[key] - raw[key], position[key]))  # largest remainder first
    for key in order[:left_over]:
        floored[key] += FEN
    return floored, factor


def budget_scaling(data: BudgetScalingIn) -> BudgetScalingRead:
    """统筹调整 (N4.3): one pro-rata factor (or one per type budget), floor to the fen, then largest remainder."""
    unique_keys([i.key for i in data.items])
    budgets: dict[str | None, Decimal] = dict(data.type_budgets or {})
    reserved = sum(budgets.values(), ZERO)
    if reserved > data.budget:
        raise Unprocessable(f"The budgets per type ({reserved}) exceed the fund ({data.budget}).",
                            errors=[{"field": "body.type_budgets", "message": "more than the budget", "code": "sum"}])
    budgets[OTHERS] = data.budget - reserved
    groups: dict[str | None, dict[str, Decimal]] = defaultdict(dict)
    for item in data.items:
        groups[item.project_type if item.project_type in (data.type_budgets or {}) else OTHERS][item.key] = item.amount
    trace, allocated, factors = Trace(), {}, {}
    for group, members in groups.items():
        scaled, factor = scale_to_total(members, budgets[group])
        allocated.update(scaled)
        factors[group] = _factor_text(factor)
        requested = sum(members.values(), ZERO)
        binds = requested > budgets[group]
        name = "the fund" if group == OTHERS and not data.type_budgets else (
            "the types without a budget of their own" if group == OTHERS else group)
        trace.add(f"scale {name}", "N4.3", {"allocated": sum(scaled.values(), ZERO), "factor": factors[group]},
                  inputs={"requested": requested, "projects": len(members)},
                  parameter={"budget": budgets[group]},
                  note=("over budget: scaled pro rata, floored to the fen, largest remainders get the fens left "
                        "over, so the group sums exactly to its budget" if binds else "within budget: unchanged"))
    if not data.type_budgets:
        factor_text = factors.get(OTHERS, "1")
    else:
        factor_text = "per type"
    return BudgetScalingRead(factor=factor_text,
                             factors={("other" if k == OTHERS else k): v for k, v in factors.items()},
                             total_requested=sum((i.amount for i in data.items), ZERO),
                             total_allocated=sum(allocated.values(), ZERO), trace=trace.steps,
                             # validated items, not validated again (100,000 items: ~0.5 s less)
                             items=[ScaledItem.model_construct(_fields_set=SCALED_FIELDS, **i.__dict__,
                                                               allocated=allocated[i.key]) for i in data.items])


def _factor_text(factor: Decimal) -> str:
    return "1" if factor == 1 else str(factor.quantize(FACTOR_PLACES))


def unique_keys(keys: list[str]) -> None:
    """A 422 naming the keys given more than once."""
    seen, twice = set(), set()
    for key in keys:
        if key in seen:
            twice.add(key)
        seen.add(key)
    if twice:
        raise Unprocessable(f"Every item needs its own key; given more than once: {', '.join(sorted(twice))}.",
                            errors=[{"field": "body.items", "message": "duplicate keys", "code": "unique"}])
