"""Money: Decimal quantised to the fen, a string in JSON, never a float."""
from __future__ import annotations

import re
from collections.abc import Iterable
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


def to_fens(value: Decimal) -> int:
    """An amount to the fen as a whole number of fen (exact: integer arithmetic is what large plans run on)."""
    return int(value.scaleb(2))


def fens_of_text(text: str) -> int:
    """A validated amount string ("1234.5", "1234.50", "1234") as a whole number of fen, without a Decimal."""
    whole, _, places = text.partition(".")
    return int(whole) * 100 + int((places + "00")[:2])


def fen_text(fens: int) -> str:
    """A whole number of fen as the two-place amount string ("1234.50")."""
    sign, fens = ("-", -fens) if fens < 0 else ("", fens)
    return f"{sign}{fens // 100}.{fens % 100:02d}"


CENTS = tuple(f"{cents:02d}" for cents in range(100))


def fens_of_texts(texts: Iterable[str]) -> list[int]:
    """fens_of_text over a column, the common two-place form taken in one step (a plan sends 100,000 amounts)."""
    return [int(text.replace(".", "")) if text[-3:-2] == "." else fens_of_text(text) for text in texts]


def fen_texts(values: Iterable[int]) -> list[str]:
    """fen_text over a column, without a call per amount."""
    return [f"{value // 100}.{CENTS[value % 100]}" if value >= 0 else fen_text(value) for value in values]


def from_fens(fens: int) -> Decimal:
    """A whole number of fen as an amount quantised to the fen."""
    return Decimal(fens).scaleb(-2)


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
