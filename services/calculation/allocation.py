"""An allocation over columns: the unit caps (G1.3.3, G5.2), then scaling to the fund (N4.3), in one call.

An edition's plan sends every project at once (100,000 measured): the amounts travel as columns of strings and are
worked in whole fens, so that nothing per project is a model or a Decimal on the way.
"""
from __future__ import annotations

from common.money import fen_text, fen_texts, fens_of_texts, to_fens

from .caps import cap_units
from .scaling import scale_to_budget, unique_keys
from .schemas import AllocationIn, AllocationRead
from .service import edition_of


def allocate(data: AllocationIn) -> AllocationRead:
    """The projects' amounts after the unit caps and after the scaling, in the order given, with both traces."""
    edition = edition_of(data.edition)
    unique_keys(data.keys)
    requested = fens_of_texts(data.amounts)
    capped, caps_trace = cap_units(edition, data.keys, data.usccs, data.project_types, requested)
    scaled = scale_to_budget(to_fens(data.budget), {k: to_fens(v) for k, v in (data.type_budgets or {}).items()},
                             data.project_types, capped)
    return AllocationRead(edition=edition.name, factor=scaled.factor, factors=scaled.factors,
                          total_requested=fen_text(sum(requested)), total_capped=fen_text(sum(capped)),
                          total_allocated=fen_text(sum(scaled.allocated)),
                          capped_amounts=fen_texts(capped), allocated_amounts=fen_texts(scaled.allocated),
                          unit_caps_trace=caps_trace.steps, scaling_trace=scaled.trace.steps)
