"""Money: Decimal quantised to the fen, a string in JSON, never a float."""
from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

FEN = Decimal("0.01")
_MONEY_RE = re.compile(r"^-?\d{1,16}(\.\d{1,2})?$")


def to_fen(value: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Quantise to the fen; rounds down by default so a cap is never exceeded."""
    return value.quantize(FEN, rounding=rounding)


def parse_money(value: Any) -> Decimal:
    """Accept a decimal string with at most two places (or a Decimal); refuse floats and ints."""
    if isinstance(value, Decimal):
        if value != value.quantize(FEN, rounding=ROUND_DOWN):
            raise ValueError("money has at most two decimal places")
        return value.quantize(FEN)
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError('money must be a decimal string with at most two places, e.g. "1234.50", not a number')
    text = value.strip()
    if not _MONEY_RE.match(text):
        raise ValueError(f'"{value}" is not a decimal string with at most two places, e.g. "1234.50"')
    try:
        return Decimal(text).quantize(FEN)
    except InvalidOperation as exc:  # pragma: no cover - the regex already rules this out
        raise ValueError(f'"{value}" is not a decimal amount') from exc


def format_money(value: Decimal) -> str:
    """Two-place string form of an amount."""
    return f"{value.quantize(FEN):.2f}"


MONEY_JSON_SCHEMA = {"type": "string", "pattern": r"^-?\d{1,16}(\.\d{1,2})?$", "examples": ["12345.60"]}

Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema(MONEY_JSON_SCHEMA),
]
"""An amount in yuan or USD: decimal string with two places in JSON."""
