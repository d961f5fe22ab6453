"""Scaling amounts down to a total, exact to the fen: unit caps (G1.3.3, G5.2) and the fund size (N4.3)."""
from __future__ import annotations

from collections.abc import Hashable
from decimal import ROUND_DOWN, Decimal, localcontext

from common.money import FEN


def scale_to_total(amounts: dict[Hashable, Decimal], total: Decimal) -> tuple[dict[Hashable, Decimal], Decimal]:
    """Pro rata so that the amounts sum to exactly `total` when they exceed it; unchanged otherwise.

    Each share is floored to the fen, then the fens left over go one each to the largest remainders
    (ties to the earlier key), so that the sum is exact and nobody gets more than they were computed.
    Returns the scaled amounts and the factor applied.
    """
    current = sum(amounts.values(), Decimal("0.00"))
    if current <= total or current == 0:
        return dict(amounts), Decimal("1")
    with localcontext() as ctx:
        ctx.prec = 50
        raw = {key: value * total / current for key, value in amounts.items()}
        factor = total / current
    floored = {key: value.quantize(FEN, rounding=ROUND_DOWN) for key, value in raw.items()}
    left_over = int(((total - sum(floored.values(), Decimal("0.00"))) / FEN).to_integral_value())
    order = sorted(raw, key=lambda key: (-(raw[key] - floored[key]), list(amounts).index(key)))
    for key in order[:left_over]:
        floored[key] += FEN
    return floored, factor
