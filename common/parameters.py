"""Programme parameters as dated, cited data (one YAML file per edition, in the manner of OpenFisca).

The loader knows nothing of the programme: it reads `editions/<edition>.yaml`, whose leaves look like

    support_period:
      description: 支持期 / support period, both ends included
      clause: D1
      unit: date_range            # money_cny | money_usd | rate | count | date | date_range | list | text | map
      values:
        2024-01-01: {start: 2023-07-01, end: 2024-12-31}

and answers the value in effect on a date, with its clause and the date it took effect.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

EDITIONS_DIR = Path(os.environ.get("FUNDFLOW_EDITIONS_DIR", Path(__file__).resolve().parent.parent / "editions"))
DECIMAL_UNITS = {"money_cny", "money_usd", "rate", "decimal"}


class UnknownEdition(LookupError):
    """No parameter file for that edition."""


class UnknownParameter(LookupError):
    """No such parameter, or none in effect on the date asked."""


@dataclass(frozen=True)
class Parameter:
    """One parameter: its values over time, with the clause that sets it."""

    path: str
    description: str
    clause: str
    unit: str
    values: tuple[tuple[date, Any], ...]  # (effective from, value), oldest first

    def at(self, on: date | None = None) -> tuple[date, Any]:
        """(effective date, value) in effect on `on`; the latest value when `on` is None."""
        candidates = [(d, v) for d, v in self.values if on is None or d <= on]
        if not candidates:
            raise UnknownParameter(f"{self.path} has no value in effect on {on}")
        return candidates[-1]


def _typed(unit: str, value: Any) -> Any:
    if unit in DECIMAL_UNITS:
        return Decimal(str(value))
    if unit == "list":
        return tuple(value)
    return value


def _walk(node: dict, prefix: str, out: dict[str, Parameter]) -> None:
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(child, dict) and "values" in child:
            unit = child.get("unit", "text")
            values = tuple(sorted(((d if isinstance(d, date) else date.fromisoformat(str(d))), _typed(unit, v))
                                  for d, v in child["values"].items()))
            out[path] = Parameter(path, child.get("description", ""), str(child.get("clause", "")), unit, values)
        elif isinstance(child, dict):
            _walk(child, path, out)
        else:
            raise ValueError(f"parameter {path} has no `values`")


@dataclass(frozen=True)
class Edition:
    """All parameters of one edition of the programme."""

    name: str
    title: str
    parameters: dict[str, Parameter]

    def param(self, path: str) -> Parameter:
        """The parameter at a dotted path."""
        try:
            return self.parameters[path]
        except KeyError:
            raise UnknownParameter(f"edition {self.name} has no parameter {path}") from None

    def value(self, path: str, on: date | None = None) -> Any:
        """The value of a parameter in effect on a date (the latest when no date is given)."""
        return self.param(path).at(on)[1]

    def cited(self, path: str, on: date | None = None) -> tuple[Any, str]:
        """(value, clause) of a parameter, for traces and messages."""
        parameter = self.param(path)
        return parameter.at(on)[1], parameter.clause


@functools.lru_cache(maxsize=32)
def load_edition(name: str) -> Edition:
    """Read and cache `editions/<name>.yaml`."""
    if not name.isalnum():
        raise UnknownEdition(f"no edition named {name!r}")
    path = EDITIONS_DIR / f"{name}.yaml"
    if not path.exists():
        raise UnknownEdition(f"no edition named {name!r}; known: {', '.join(known_editions())}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    parameters: dict[str, Parameter] = {}
    _walk(raw.get("parameters", {}), "", parameters)
    return Edition(name=str(raw.get("edition", name)), title=raw.get("title", ""), parameters=parameters)


def known_editions() -> list[str]:
    """Editions that have a parameter file."""
    return sorted(p.stem for p in EDITIONS_DIR.glob("*.yaml"))
