"""A computation's trace: each step with its inputs, the parameter used (value, clause, effective date), the
result and why, so that an officer or auditor can redo the sum by hand."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from common.db import JSON_SCALARS
from common.parameters import Edition


@dataclass(frozen=True)
class Cited:
    """A parameter's value on the reference date and how a trace cites it."""

    path: str
    value: Any
    clause: str
    effective_from: date

    @functools.cached_property
    def _shown(self) -> dict[str, Any]:
        """The citation, worked out on first use."""
        return {"name": self.path, "value": text(self.value), "clause": self.clause,
                "effective_from": self.effective_from.isoformat()}

    def cite(self) -> dict[str, Any]:
        """{name, value, clause, effective_from} for a trace step."""
        # written out once per parameter (a batch cites the same ones in every trace); each step gets its own dict
        return dict(self._shown)


def cited(edition: Edition, path: str, on: date | None) -> Cited:
    """A parameter as in effect on `on` (its latest value when None)."""
    parameter = edition.param(path)
    effective, value = parameter.at(on)
    return Cited(path, value, parameter.clause, effective)


def text(value: Any) -> Any:
    """A value as the trace shows it: decimals and dates as strings."""
    if type(value) in JSON_SCALARS:  # most leaves: shown as they are, without the checks below
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value


@dataclass
class Trace:
    """The steps of one computation, in order."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, step: str, clause: str, result: Any, *, inputs: dict | None = None,
            parameter: Cited | dict | None = None, note: str = "", as_shown: bool = False) -> None:
        """Record one step; `parameter` is one cited parameter or a dict of them by role; `as_shown` says that the
        result and inputs hold only strings and numbers already (no Decimal or date to show as text)."""
        if isinstance(parameter, Cited):
            shown = parameter.cite()
        else:
            shown = {k: (v.cite() if isinstance(v, Cited) else text(v)) for k, v in (parameter or {}).items()}
        if not as_shown:  # a plan's unit caps add thousands of steps of amount strings: nothing to convert there
            inputs, result = text(inputs or {}), text(result)
        self.steps.append({"step": step, "clause": clause, "inputs": inputs or {}, "parameter": shown,
                           "result": result, "note": note})

    def warn(self, message: str) -> None:
        """Something the caller should know that does not stop the computation."""
        self.warnings.append(message)
