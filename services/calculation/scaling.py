"""Scaling amounts down to a total, exact to the fen: unit caps (G1.3.3, G5.2) and the fund size (统筹调整, N4.3)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from common.money import fen_text, from_fens, to_fens
from common.problems import Unprocessable

from .schemas import BudgetScalingIn, BudgetScalingRead, ScaledItem
from .trace import Trace

FACTOR_PLACES = Decimal("0.000000000001")  # the factor is reported, not used: every share is exact to the fen
OTHERS = None  # the budget group of the types without a budget of their own
SCALED_FIELDS = frozenset(ScaledItem.model_fields)  # given to model_construct, which otherwise works it out per item


def scale_fens(fens: Sequence[int], total: int) -> tuple[list[int], Decimal]:
    """(scaled fens, factor): pro rata to exactly `total` fen when they exceed it, else unchanged with factor 1."""
    # each share is floored to the fen, then the fens left over go one each to the largest remainders (ties to the
    # earlier item): the sum is exact and nobody gets more than computed (Decision, POLICY.md G1.3.3, N4.3). Whole
    # fens make every share and remainder exact integer arithmetic (Decimals took ~1 s for 100,000 projects).
    current = sum(fens)
    if current <= total:
        return list(fens), Decimal(1)
    # plain lists of ints, no tuple per item: 100,000 tuples kept alive woke the garbage collector's full passes
    products = [value * total for value in fens]
    scaled = [product // current for product in products]
    remainders = [-(product % current) for product in products]
    left_over = total - sum(scaled)
    # sorted() is stable: among equal remainders the earlier item comes first
    for index in sorted(range(len(remainders)), key=remainders.__getitem__)[:left_over]:
        scaled[index] += 1
    with localcontext() as ctx:
        ctx.prec = 50
        return scaled, Decimal(total) / Decimal(current)


def scale_to_total(amounts: dict[Hashable, Decimal], total: Decimal) -> tuple[dict[Hashable, Decimal], Decimal]:
    """scale_fens over amounts by key, in yuan."""
    scaled, factor = scale_fens([to_fens(v) for v in amounts.values()], to_fens(total))
    return {key: from_fens(value) for key, value in zip(amounts, scaled)}, factor


@dataclass
class Scaled:
    """A budget scaling's outcome over columns: the allocated fens in the items' order, factors and trace."""

    allocated: list[int]
    factor: str
    factors: dict[str, str]
    trace: Trace


def scale_to_budget(budget: int, type_budgets: dict[str, int] | None, project_types: Sequence[str | None],
                    fens: Sequence[int]) -> Scaled:
    """统筹调整 (N4.3) over columns in fen: one pro-rata factor (or one per type budget), floor, largest remainder."""
    budgets: dict[str | None, int] = dict(type_budgets or {})
    reserved = sum(budgets.values())
    if reserved > budget:
        raise Unprocessable(f"The budgets per type ({fen_text(reserved)}) exceed the fund ({fen_text(budget)}).",
                            errors=[{"field": "body.type_budgets", "message": "more than the budget", "code": "sum"}])
    budgets[OTHERS] = budget - reserved
    members: dict[str | None, list[int]] = defaultdict(list)  # item positions by budget group
    for index, project_type in enumerate(project_types):
        members[project_type if project_type in budgets else OTHERS].append(index)
    trace, allocated, factors = Trace(), list(fens), {}
    for group, positions in members.items():
        requested = [fens[i] for i in positions]
        scaled, factor = scale_fens(requested, budgets[group])
        for position, value in zip(positions, scaled):
            allocated[position] = value
        group_factor = factors["other" if group == OTHERS else group] = _factor_text(factor)
        binds = sum(requested) > budgets[group]
        name = "the fund" if group == OTHERS and not type_budgets else (
            "the types without a budget of their own" if group == OTHERS else group)
        trace.add(f"scale {name}", "N4.3", {"allocated": fen_text(sum(scaled)), "factor": group_factor},
                  inputs={"requested": fen_text(sum(requested)), "projects": len(positions)},
                  parameter={"budget": fen_text(budgets[group])},
                  note=("over budget: scaled pro rata, floored to the fen, largest remainders get the fens left "
                        "over, so the group sums exactly to its budget" if binds else "within budget: unchanged"))
    factor_text = "per type" if type_budgets else factors.get("other", "1")
    return Scaled(allocated, factor_text, factors, trace)


def budget_scaling(data: BudgetScalingIn) -> BudgetScalingRead:
    """统筹调整 (N4.3) of items by key: scale_to_budget over their columns."""
    unique_keys([i.key for i in data.items])
    fens = [to_fens(i.amount) for i in data.items]
    scaled = scale_to_budget(to_fens(data.budget), {k: to_fens(v) for k, v in (data.type_budgets or {}).items()},
                             [i.project_type for i in data.items], fens)
    return BudgetScalingRead(factor=scaled.factor, factors=scaled.factors, total_requested=from_fens(sum(fens)),
                             total_allocated=from_fens(sum(scaled.allocated)), trace=scaled.trace.steps,
                             # validated items, not validated again (100,000 items: ~0.5 s less)
                             items=[ScaledItem.model_construct(_fields_set=SCALED_FIELDS, **i.__dict__,
                                                               allocated=from_fens(a))
                                    for i, a in zip(data.items, scaled.allocated)])


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
