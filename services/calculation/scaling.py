"""Scaling amounts down to a total, exact to the fen: unit caps (G1.3.3, G5.2) and the fund size (统筹调整, N4.3)."""
from __future__ import annotations

from collections.abc import Hashable
from decimal import ROUND_DOWN, Decimal, localcontext

from common.money import FEN

ZERO = Decimal("0.00")


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
