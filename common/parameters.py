"""Programme parameters as dated, cited data (one YAML file per edition, in the manner of OpenFisca).

The loader knows nothing of the programme: it reads `editions/<edition>.yaml`, whose leaves look like

    support_period:
      description: 支持期 / support period, both ends included
      clause: D1
      unit: date_range            # see UNITS below
      reference: 附件3 一、(一)6     # optional: where the figure comes from
      values:
        2025-12-05: {start: 2023-07-01, end: 2024-12-31}

and answers the value in effect on a date, with its clause and the date it took effect. Every leaf is checked
against its unit when the file is read, so that a new edition's typo is an error naming the parameter, never a
wrong amount. Amounts and rates are written as strings and read as Decimal (a YAML float is refused).
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

EDITIONS_DIR = Path(os.environ.get("FUNDFLOW_EDITIONS_DIR", Path(__file__).resolve().parent.parent / "editions"))
UNITS = {
    "money_cny": "amount in 元, a string with at most two places",
    "money_usd": "amount in USD, a string with at most two places",
    "rate": "a share between 0 and 1, as a string",
    "decimal": "an exact decimal number, as a string",
    "count": "a whole number, zero or more",
    "date": "an ISO date",
    "date_range": "{start, end}: ISO dates, both ends included",
    "list": "a list of keys",
    "map": "a mapping of keys to values",
    "flag": "true or false",
    "text": "a piece of text or a key",
}
DECIMAL_UNITS = {"money_cny", "money_usd", "rate", "decimal"}
_MONEY = re.compile(r"^\d{1,16}(\.\d{1,2})?$")
_EDITION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class UnknownEdition(LookupError):
    """No parameter file for that edition."""


class UnknownParameter(LookupError):
    """No such parameter, or none in effect on the date asked."""


class InvalidParameterFile(ValueError):
    """An edition file that does not follow the format (the message names the parameter)."""


MAX_CACHED_DATES = 4096  # per parameter: more than a programme's days of submissions


@dataclass(frozen=True)
class Parameter:
    """One parameter: its values over time, with the clause that sets it."""

    path: str
    description: str
    clause: str
    unit: str
    values: tuple[tuple[date, Any], ...]  # (effective from, value), oldest first
    reference: str = ""
    # the answer of `at` by date: a batch of dossiers asks each rule's parameters on the same few dates thousands of
    # times (17 lookups a dossier); an edition's dates are bounded, the cache too
    _by_date: dict = field(default_factory=dict, compare=False, repr=False)

    def at(self, on: date | None = None) -> tuple[date, Any]:
        """(effective date, value) in effect on `on`; the latest value when `on` is None."""
        found = self._by_date.get(on)
        if found is not None:
            return found
        found = next(((d, v) for d, v in reversed(self.values) if on is None or d <= on), None)
        if found is None:
            raise UnknownParameter(f"{self.path} has no value in effect on {on} (the first takes effect on "
                                   f"{self.values[0][0]})")
        if len(self._by_date) < MAX_CACHED_DATES:
            self._by_date[on] = found
        return found


def _decimal(path: str, unit: str, value: Any) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise InvalidParameterFile(f"{path}: write {unit} values as strings (\"0.50\"), not YAML numbers")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidParameterFile(f"{path}: {value!r} is not a decimal number") from None
    if unit in ("money_cny", "money_usd") and not _MONEY.match(str(value)):
        raise InvalidParameterFile(f"{path}: {value!r} is not an amount with at most two places")
    if unit == "rate" and not Decimal(0) <= number <= Decimal(1):
        raise InvalidParameterFile(f"{path}: a rate lies between 0 and 1, not {value}")
    return number


def _typed(path: str, unit: str, value: Any) -> Any:
    """The value read as its unit says, or InvalidParameterFile."""
    if unit in DECIMAL_UNITS:
        return _decimal(path, unit, value)
    if unit == "count":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidParameterFile(f"{path}: a count is a whole number, not {value!r}")
        return value
    if unit == "date":
        if not isinstance(value, date):
            raise InvalidParameterFile(f"{path}: {value!r} is not an ISO date")
        return value
    if unit == "date_range":
        if not isinstance(value, dict) or set(value) != {"start", "end"}:
            raise InvalidParameterFile(f"{path}: a date range is {{start, end}}")
        start, end = value["start"], value["end"]
        if not isinstance(start, date) or not isinstance(end, date) or start > end:
            raise InvalidParameterFile(f"{path}: {value!r} is not a range of two ISO dates, start first")
        return {"start": start, "end": end}
    if unit == "list":
        if not isinstance(value, list):
            raise InvalidParameterFile(f"{path}: a list is expected")
        return tuple(value)
    if unit == "map":
        if not isinstance(value, dict):
            raise InvalidParameterFile(f"{path}: a mapping is expected")
        return dict(value)
    if unit == "flag":
        if not isinstance(value, bool):
            raise InvalidParameterFile(f"{path}: a flag is true or false, not {value!r}")
        return value
    if unit == "text":
        if not isinstance(value, str):
            raise InvalidParameterFile(f"{path}: text is expected, not {value!r}")
        return value
    raise InvalidParameterFile(f"{path}: unknown unit {unit!r}; known: {', '.join(UNITS)}")


def _effective(path: str, key: Any) -> date:
    if isinstance(key, date):
        return key
    try:
        return date.fromisoformat(str(key))
    except ValueError:
        raise InvalidParameterFile(f"{path}: {key!r} is not an effective date") from None


def _walk(node: dict, prefix: str, out: dict[str, Parameter]) -> None:
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(child, dict) and "values" in child:
            unit = child.get("unit", "text")
            if not child.get("clause"):
                raise InvalidParameterFile(f"{path}: every parameter cites its clause")
            if not isinstance(child["values"], dict) or not child["values"]:
                raise InvalidParameterFile(f"{path}: `values` maps effective dates to values")
            values = tuple(sorted((_effective(path, d), _typed(path, unit, v)) for d, v in child["values"].items()))
            out[path] = Parameter(path, child.get("description", ""), str(child["clause"]), unit, values,
                                  str(child.get("reference", "")))
        elif isinstance(child, dict):
            _walk(child, path, out)
        else:
            raise InvalidParameterFile(f"parameter {path} has no `values`")


@dataclass(frozen=True)
class Edition:
    """All parameters of one edition of the programme."""

    name: str
    title: str
    parameters: dict[str, Parameter]
    metadata: dict[str, Any] = field(default_factory=dict)

    def param(self, path: str) -> Parameter:
        """The parameter at a dotted path."""
        try:
            return self.parameters[path]
        except KeyError:
            raise UnknownParameter(f"edition {self.name} has no parameter {path}") from None

    def has(self, path: str) -> bool:
        """Whether the edition defines a parameter at `path`."""
        return path in self.parameters

    def value(self, path: str, on: date | None = None) -> Any:
        """The value of a parameter in effect on a date (the latest when no date is given)."""
        return self.param(path).at(on)[1]

    def cited(self, path: str, on: date | None = None) -> tuple[Any, str]:
        """(value, clause) of a parameter, for traces and messages."""
        parameter = self.param(path)
        return parameter.at(on)[1], parameter.clause

    def under(self, prefix: str) -> dict[str, Parameter]:
        """The parameters whose path starts with `prefix.`, keyed by the rest of the path."""
        start = prefix + "."
        return {path[len(start):]: p for path, p in self.parameters.items() if path.startswith(start)}


def read_edition(path: Path) -> Edition:
    """Read and check one edition file (not cached: tests and tools use it on files of their own)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidParameterFile(f"{path.name}: not YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("parameters"), dict):
        raise InvalidParameterFile(f"{path.name}: an edition file has `edition`, `title` and `parameters`")
    parameters: dict[str, Parameter] = {}
    _walk(raw["parameters"], "", parameters)
    metadata = {k: v for k, v in raw.items() if k not in ("edition", "title", "parameters")}
    return Edition(name=str(raw.get("edition", path.stem)), title=str(raw.get("title", "")), parameters=parameters,
                   metadata=metadata)


@functools.lru_cache(maxsize=32)
def load_edition(name: str) -> Edition:
    """Read and cache `editions/<name>.yaml`."""
    if not _EDITION_NAME.match(name):
        raise UnknownEdition(f"no edition named {name!r}")
    path = EDITIONS_DIR / f"{name}.yaml"
    if not path.exists():
        raise UnknownEdition(f"no edition named {name!r}; known: {', '.join(known_editions())}")
    return read_edition(path)


def known_editions() -> list[str]:
    """Editions that have a parameter file."""
    return sorted(p.stem for p in EDITIONS_DIR.glob("*.yaml"))
