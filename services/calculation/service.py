"""Computations, unit caps and budget scaling (no HTTP here)."""
from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlmodel import Session

from common.clock import Clock
from common.money import FEN
from common.parameters import UnknownEdition, load_edition
from common.problems import Unprocessable

from . import amounts
from .models import Computation
from .scaling import scale_to_total
from .schemas import (BudgetScalingIn, BudgetScalingRead, CappedItem, ComputationRead, ScaledItem, TraceStep,
                      UnitCapsIn, UnitCapsRead)

FACTOR_PLACES = Decimal("0.000000000001")  # the factor is reported, not used: every share is exact to the fen
# G1.3.3 and G5.2: projects of one unit that share a cap, and the parameter holding it
CAP_GROUPS = {"platform_construction": "platform_unit_cap", "platform_operation": "platform_unit_cap",
              "tcm_construction": "tcm_unit_cap", "tcm_operation": "tcm_unit_cap"}


def edition_of(name: str):
    """The edition's parameters, or a 422."""
    try:
        return load_edition(name)
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": "body.edition", "message": str(exc), "code": "enum"}]) from None


def compute(session: Session, dossier: amounts.Dossier, clock: Clock) -> ComputationRead:
    """The amount of a dossier and its trace; kept when it belongs to an application."""
    edition = edition_of(dossier.edition)
    amount, steps = amounts.compute(dossier, edition)
    result = ComputationRead(id=str(uuid.uuid4()), application_id=dossier.application_id, edition=dossier.edition,
                             project_type=dossier.project_type, amount=amount, trace=steps)
    if dossier.application_id:
        session.add(Computation(id=result.id, application_id=dossier.application_id, edition=dossier.edition,
                                project_type=dossier.project_type, amount=amount, trace=steps,
                                created_at=clock.now()))
    return result


def unit_caps(data: UnitCapsIn) -> UnitCapsRead:
    """Scale each unit's projects that share a cap, by one factor, so that they sum to the cap when over it."""
    edition = edition_of(data.edition)
    groups: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for item in data.items:
        if item.project_type in CAP_GROUPS:
            groups[(item.uscc, CAP_GROUPS[item.project_type])][item.key] = item.amount
    capped: dict[str, Decimal] = {}
    steps = []
    for (uscc, cap_path), members in groups.items():
        cap, clause = edition.cited(cap_path)
        scaled, factor = scale_to_total(members, cap)
        capped.update(scaled)
        if factor != 1:
            steps.append(TraceStep(step="unit cap", clause=clause, inputs={"uscc": uscc, "amounts": {
                k: str(v) for k, v in members.items()}}, parameter={"name": cap_path, "value": str(cap),
                                                                     "clause": clause},
                result={k: str(v) for k, v in scaled.items()},
                note=f"scaled by {factor:.6f}, largest remainder to the fen"))
    items = [CappedItem(**item.model_dump(), capped_amount=capped.get(item.key, item.amount)) for item in data.items]
    return UnitCapsRead(items=items, trace=steps)


def budget_scaling(data: BudgetScalingIn) -> BudgetScalingRead:
    """统筹调整 (N4.3): one pro-rata factor (or one per type budget), floor, then largest remainder."""
    keys = [item.key for item in data.items]
    if len(set(keys)) != len(keys):
        raise Unprocessable("Every item needs its own key.", errors=[{"field": "body.items", "message":
                                                                      "duplicate keys", "code": "unique"}])
    total = sum((item.amount for item in data.items), Decimal("0.00"))
    steps: list[TraceStep] = []
    if data.type_budgets:
        allocated: dict[str, Decimal] = {}
        for project_type in dict.fromkeys(item.project_type for item in data.items):
            members = {i.key: i.amount for i in data.items if i.project_type == project_type}
            budget = data.type_budgets.get(project_type)
            if budget is None:
                raise Unprocessable(f"No budget for project type {project_type}.",
                                    errors=[{"field": "body.type_budgets", "message": f"{project_type} missing",
                                             "code": "missing"}])
            scaled, factor = scale_to_total(members, budget)
            allocated.update(scaled)
            steps.append(_step(f"scale {project_type}", members, budget, scaled, factor))
        factor = Decimal("1") if all(allocated[i.key] == i.amount for i in data.items) else None
    else:
        members = {i.key: i.amount for i in data.items}
        allocated, factor = scale_to_total(members, data.budget)
        steps.append(_step("scale to the fund", members, data.budget, allocated, factor))
    total_allocated = sum(allocated.values(), Decimal("0.00"))
    factor_text = str(factor.quantize(FACTOR_PLACES)) if factor is not None and factor != 1 else \
        ("1" if factor is not None else "per type")
    return BudgetScalingRead(factor=factor_text, total_requested=total,
                             total_allocated=total_allocated, trace=steps,
                             items=[ScaledItem(**i.model_dump(), allocated=allocated[i.key]) for i in data.items])


def _step(name: str, members: dict, budget: Decimal, scaled: dict, factor: Decimal) -> TraceStep:
    requested = sum(members.values(), Decimal("0.00"))
    binds = requested > budget
    return TraceStep(step=name, clause="N4.3", inputs={"requested": str(requested), "projects": len(members)},
                     parameter={"name": "budget", "value": str(budget)},
                     result={"allocated": str(sum(scaled.values(), Decimal("0.00"))),
                             "factor": str(factor.quantize(Decimal("0.000001"))) if binds else "1"},
                     note=("over budget: scaled pro rata, floored to the fen, largest remainders get the "
                           f"{FEN}s left over" if binds else "within budget: unchanged"))
