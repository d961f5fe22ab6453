"""Every requirement of POLICY.md as a rule: id, the clause it enforces, outcome, message in Chinese and English.

The edition names the rules each project type runs (`general.checks`, then `<project_type>.checks`); the
modules below register them by id.
"""
from __future__ import annotations

from common.parameters import Edition

from . import certification, general, interest, offshore, platform, tcm  # noqa: F401 - they register the rules
from .base import RULES, Check, Context

__all__ = ["Check", "Context", "RULES", "run", "outcome", "rule_ids", "unknown_rules"]


def rule_ids(edition: Edition, project_type: str, on=None) -> list[str]:
    """The rules a project type runs in an edition, in order: the general ones first."""
    return list(edition.value("general.checks", on)) + list(edition.value(f"{project_type}.checks", on))


def unknown_rules(edition: Edition) -> list[str]:
    """Rule ids an edition names that the engine does not know (a test keeps this empty for every edition)."""
    named = set()
    for path, parameter in edition.parameters.items():
        if path == "general.checks" or path.endswith(".checks"):
            for _, value in parameter.values:
                named.update(value)
    return sorted(named - set(RULES))


def run(ctx: Context) -> list[Check]:
    """Every check of the dossier's project type, in the edition's order."""
    checks: list[Check] = []
    for rule_id in rule_ids(ctx.edition, ctx.project_type, ctx.on):
        checks.extend(RULES[rule_id](ctx))
    return checks


def outcome(checks: list[Check]) -> str:
    """ineligible if any check fails, needs_review if any asks for review, eligible otherwise."""
    if any(c.outcome == "fail" for c in checks):
        return "ineligible"
    if any(c.outcome == "review" for c in checks):
        return "needs_review"
    return "eligible"
