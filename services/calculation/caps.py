"""Per-unit caps across projects (G1.3.3: platform construction + O&M ≤ 300,000; G5.2: a TCM base ≤ 500,000): a
unit's projects under one cap are scaled by one factor, largest remainder to the fen, so they sum to the cap."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from common.money import fen_text, from_fens, to_fens
from common.parameters import Edition

from .scaling import scale_fens
from .trace import Trace, cited


def cap_groups(edition: Edition, on: date | None) -> dict[str, tuple[str, ...]]:
    """The edition's per-unit cap groups and the project types each covers (`unit_caps.<group>.project_types`)."""
    groups = {}
    for path, parameter in sorted(edition.under("unit_caps").items()):
        group, _, leaf = path.rpartition(".")
        if leaf == "project_types":
            groups[group] = tuple(parameter.at(on)[1])
    return groups


def cap_units(edition: Edition, keys: Sequence[str], usccs: Sequence[str], project_types: Sequence[str],
              fens: Sequence[int], on: date | None = None) -> tuple[list[int], Trace]:
    """Columns of projects (amounts in fen) → their capped fens in the same order, and a trace step per unit and group
    whose cap had anything to add up."""
    # the caps in effect on `on`; the edition's latest when None (the plan is made after the reviews)
    capped = list(fens)
    trace = Trace()
    groups = cap_groups(edition, on)
    # each project's position under its type's group, in one pass (an edition's plan sends 100,000)
    groups_of: dict[str, list[str]] = defaultdict(list)
    for group, types in groups.items():
        for project_type in types:
            groups_of[project_type].append(group)
    positions_of: dict[str, list[int]] = {group: [] for group in groups}
    for index, project_type in enumerate(project_types):
        for group in groups_of.get(project_type, ()):
            positions_of[group].append(index)
    for group, positions in positions_of.items():
        cap = cited(edition, f"unit_caps.{group}.cap", on)
        limit = to_fens(cap.value)
        # in comprehensions and counters rather than a step per project
        projects_of = Counter([usccs[index] for index in positions])
        members: dict[str, list[int]] = defaultdict(list)  # a unit's positions, for units with anything to add up
        for index in [index for index in positions if projects_of[usccs[index]] > 1 or fens[index] > limit]:
            members[usccs[index]].append(index)
        for uscc, unit_positions in members.items():
            before = [fens[i] for i in unit_positions]
            scaled, factor = scale_fens(before, limit)
            for position, value in zip(unit_positions, scaled):
                capped[position] = value
            note = (f"over the cap: scaled by {factor:.12f}, floored to the fen, largest remainders get the fens "
                    f"left over, total {fen_text(sum(scaled))}") if sum(before) > limit else "within the cap: unchanged"
            trace.add("unit cap", cap.clause, {keys[i]: fen_text(v) for i, v in zip(unit_positions, scaled)},
                      inputs={"uscc": uscc, "group": group, "amounts": {keys[i]: fen_text(fens[i])
                                                                        for i in unit_positions},
                              "total": fen_text(sum(before))}, parameter=cap, note=note, as_shown=True)
        alone = len(projects_of) - len(members)
        if alone:
            # nothing to add up and nothing changed: counted in one step per group, not a step each (a plan of
            # 100,000 projects carried ~55,000 such steps, 24 MB, through every service and its audit trail)
            trace.add("unit cap", cap.clause, {"units": alone}, inputs={"group": group}, parameter=cap,
                      note=f"{alone} units with a single project of the group within the cap: unchanged")
    return capped, trace


def apply_unit_caps(edition: Edition, items: list[tuple[str, str, str, Decimal]], on: date | None = None
                    ) -> tuple[dict[str, Decimal], Trace]:
    """(key, uscc, project_type, amount) items → capped amount per key, and the trace of cap_units."""
    keys, usccs, project_types, amounts = zip(*items) if items else ((), (), (), ())
    capped, trace = cap_units(edition, keys, usccs, project_types, [to_fens(a) for a in amounts], on)
    return {key: from_fens(value) for key, value in zip(keys, capped)}, trace
