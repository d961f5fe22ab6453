"""What every rule shares: the check it returns, the context it reads, the catalogue it is registered in.

A rule is a function of the context returning its checks (usually one, none when it does not apply). Which
rules a project type runs, and every figure they compare against, come from the edition's parameters
(`general.checks`, `<project_type>.checks`); a rule reads its figures with `ctx.own(name)` (the project type's
parameter) or `ctx.param(path)` and cites the clause that parameter carries.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from common.db import JSON_SCALARS
from common.parameters import Edition

from ..dossier import Dossier

OUTCOMES = ("pass", "review", "fail")


@dataclass
class Check:
    """One rule applied to one dossier."""

    rule: str
    clause: str
    outcome: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cited:
    """A parameter's value as in effect on the reference date, with what a check or trace cites of it."""

    path: str
    value: Any
    clause: str
    effective_from: date


class Registry(Protocol):
    """What the rules may ask the registries (service.RegistryReader answers, as of the reference date)."""

    def credit_hits(self) -> list[dict]: ...
    def debarments(self) -> list[dict]: ...
    def recognised_base(self) -> dict | None: ...
    def duplicate_invoices(self) -> list[dict]: ...
    def duplicate_projects(self, per_unit: int) -> list[dict]: ...
    def earlier_construction(self) -> list[dict]: ...


@dataclass
class Context:
    """A dossier, its edition's parameters in effect on the reference date, and the registries."""

    dossier: Dossier
    edition: Edition
    on: date
    registry: Registry

    @property
    def project_type(self) -> str:
        return self.dossier.project_type

    @property
    def content(self):
        return self.dossier.content

    def param(self, path: str) -> Cited:
        """A parameter of the edition by its full path."""
        parameter = self.edition.param(path)
        effective, value = parameter.at(self.on)
        return Cited(path, value, parameter.clause, effective)

    def own(self, name: str) -> Cited | None:
        """The project type's own parameter `<project_type>.<name>`, or None when the edition has none."""
        path = f"{self.project_type}.{name}"
        return self.param(path) if self.edition.has(path) else None


RuleFn = Callable[[Context], list[Check]]
RULES: dict[str, RuleFn] = {}


def rule(rule_id: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule under its stable id (the id an edition's `checks` lists name)."""
    def register(fn: RuleFn) -> RuleFn:
        RULES[rule_id] = fn
        fn.rule_id = rule_id
        return fn
    return register


def check(rule_id: str, clause: str, outcome: str, zh: str, en: str, **details: Any) -> Check:
    """A check whose messages end with the clause they enforce, e.g. "… 低于 100 万美元 (G2.1.2)"."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    return Check(rule_id, clause, outcome, f"{zh} ({clause})", f"{en} ({clause})", _plain(details))


def decided(cited: Cited) -> str:
    """The outcome a Decision parameter names (pass / review / fail)."""
    if cited.value not in OUTCOMES:
        raise ValueError(f"{cited.path}: {cited.value!r} is not one of {', '.join(OUTCOMES)}")
    return cited.value


def _plain(value: Any) -> Any:
    """Details as JSON: amounts and dates as strings."""
    if type(value) in JSON_SCALARS:  # most leaves: shown as they are, without the checks below
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def usd_zh(amount: Decimal) -> str:
    """An amount in USD as the notice writes it: 100 万美元, 999,999.99 美元."""
    if amount % 10000 == 0:
        return f"{amount / 10000:,.0f} 万美元"
    return f"{amount:,.2f} 美元"


def usd_en(amount: Decimal) -> str:
    """USD 1,000,000.00."""
    return f"USD {amount:,.2f}"


def within(day: date | None, window: dict) -> bool:
    """Whether a date lies in a date range, both ends included."""
    return day is not None and window["start"] <= day <= window["end"]


def lines(numbers: list[int]) -> str:
    """Line numbers for a message: 1, 3, 4."""
    return ", ".join(str(n) for n in numbers)
