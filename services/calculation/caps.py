"""Per-unit caps across projects (G1.3.3: platform construction + O&M ≤ 300,000; G5.2: a TCM base ≤ 500,000): a
unit's projects under one cap are scaled by one factor, largest remainder to the fen, so they sum to the cap."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from common.parameters import Edition

from .scaling import ZERO, scale_to_total
from .trace import Trace, cited


def cap_groups(edition: Edition, on: date | None) -> dict[str, tuple[str, ...]]:
    """The edition's per-unit cap groups and the project types each covers (`unit_caps.<group>.project_types`)."""
    groups = {}
    for path, parameter in sorted(edition.under("unit_caps").items()):
        group, _, leaf = path.rpartition(".")
        if leaf == "project_types":
            groups[group] = tuple(parameter.at(on)[1])
    return groups


def apply_unit_caps(edition: Edition, items: list[tuple[str, str, str, Decimal]], on: date | None = None
                    ) -> tuple[dict[str, Decimal], Trace]:
    """(key, uscc, project_type, amount) items → capped amount per key, and a trace step per unit and group."""
    # the caps in effect on `on`; the edition's latest when None (the plan is made after the reviews)
    groups = cap_groups(edition, on)
    group_of = {t: g for g, types in groups.items() for t in types}
    members: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    capped: dict[str, Decimal] = {}
    for key, uscc, project_type, amount in items:
        capped[key] = amount
        if project_type in group_of:
            members[(uscc, group_of[project_type])][key] = amount
    trace = Trace()
    caps = {group: cited(edition, f"unit_caps.{group}.cap", on) for group in groups}
    alone: dict[str, int] = defaultdict(int)  # units whose one project of the group is within the cap, by group
    for (uscc, group), amounts in members.items():
        cap = caps[group]
        if len(amounts) == 1 and next(iter(amounts.values())) <= cap.value:
            # nothing to add up and nothing changed: counted in one step per group, not a step each (a plan of
            # 100,000 projects carried ~55,000 such steps, 24 MB, through every service and its audit trail)
            alone[group] += 1
            continue
        scaled, factor = scale_to_total(amounts, cap.value)
        capped.update(scaled)
        before = sum(amounts.values(), ZERO)
        binds = before > cap.value
        trace.add("unit cap", cap.clause, {k: scaled[k] for k in amounts},
                  inputs={"uscc": uscc, "group": group, "amounts": amounts, "total": before}, parameter=cap,
                  note=(f"over the cap: scaled by {factor:.12f}, floored to the fen, largest remainders get the fens "
                        f"left over, total {sum(scaled.values(), ZERO)}") if binds else "within the cap: unchanged")
    for group, units in alone.items():
        trace.add("unit cap", caps[group].clause, {"units": units}, inputs={"group": group}, parameter=caps[group],
                  note=f"{units} units with a single project of the group within the cap: unchanged")
    return capped, trace

