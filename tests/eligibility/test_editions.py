"""Editions as data: every file is valid and complete for the engine, the 2024 figures are POLICY.md's, the engine
holds none of them, and the loader refuses a malformed file naming the parameter (no running system needed)."""
from __future__ import annotations

import ast
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from common.parameters import EDITIONS_DIR, InvalidParameterFile, UnknownParameter, known_editions, read_edition
from services.calculation import amounts
from services.calculation.dossier import Dossier as PricedDossier
from services.eligibility import rules
from services.eligibility.dossier import Dossier

ROOT = Path(__file__).resolve().parents[2]
ENGINE = [ROOT / "services" / "eligibility", ROOT / "services" / "calculation"]


class NoRegistry:
    """Registries with nothing in them (the rules' Registry protocol)."""

    def credit_hits(self): return []
    def debarments(self): return []
    def recognised_base(self): return {"base_name": "基地", "construction_supported_in": None}
    def duplicate_invoices(self): return []
    def duplicate_projects(self, per_unit): return []
    def earlier_construction(self): return []


@pytest.mark.parametrize("name", known_editions())
def test_every_edition_is_valid_and_complete_for_the_engine(name):
    edition = read_edition(EDITIONS_DIR / f"{name}.yaml")
    assert rules.unknown_rules(edition) == []
    on = edition.param("support_period").values[-1][0]
    for project_type in edition.value("project_types"):
        assert edition.value(f"{project_type}.checks"), project_type
        assert edition.value(f"{project_type}.amount_method") in amounts.methods(), project_type
        # every rule and method finds every figure it reads, even on an empty dossier
        dossier = Dossier(edition=name, project_type=project_type, applicant={"uscc": "91210202MA0000A008"})
        checks = rules.run(rules.Context(dossier, edition, on, NoRegistry()))
        assert checks and all(c.clause and c.message_zh and c.message_en for c in checks)
        amount, trace = amounts.compute(PricedDossier(edition=name, project_type=project_type), edition, on)
        assert amount == Decimal("0.00") or project_type == "brand", (project_type, trace.steps)
    for path, parameter in edition.parameters.items():
        assert parameter.clause and parameter.description, path


POLICY_FIGURES = [  # (parameter, value, clause) as POLICY.md states them
    ("support_period", {"start": date(2023, 7, 1), "end": date(2024, 12, 31)}, "D1"),
    ("deadlines.applicant_submission", date(2025, 12, 22), "N3.5"),
    ("deadlines.district_submission", date(2025, 12, 29), "N4.1"),
    ("platform_operation.completed_within", {"start": date(2020, 7, 1), "end": date(2023, 6, 30)}, "D4"),
    ("tcm_operation.completed_on_or_before", date(2023, 6, 30), "D5"),
    ("platform_construction.completed_within", {"start": date(2023, 7, 1), "end": date(2024, 12, 31)}, "G1.3.1"),
    ("tcm_construction.completed_within", {"start": date(2023, 7, 1), "end": date(2024, 12, 31)}, "G5.1.3"),
    ("served_firms.new_platform_minimum", 5, "G1.1.2"),
    ("served_firms.existing_platform_minimum", 10, "G1.1.2"),
    ("platform_construction.rate", Decimal("0.50"), "G1.3.1"),
    ("platform_construction.cap", Decimal("200000.00"), "G1.3.1"),
    ("platform_operation.rate", Decimal("0.80"), "G1.3.2"),
    ("platform_operation.cap", Decimal("200000.00"), "G1.3.2"),
    ("unit_caps.platform.cap", Decimal("300000.00"), "G1.3.3"),
    ("certification.offshore_minimum_usd", Decimal("1000000.00"), "G2.1.2"),
    ("certification.rate", Decimal("0.70"), "G2.2"),
    ("certification.cap", Decimal("300000.00"), "G2.2"),
    ("certification.max_items", 5, "G2.2"),
    ("brand.cap", Decimal("100000.00"), "G3.2"),
    ("brand.group_a_offshore_minimum_usd", Decimal("1000000.00"), "G3.1.2"),
    ("interest_subsidy.offshore_minimum_usd", Decimal("5000000.00"), "G4.1.2"),
    ("interest_subsidy.lpr", Decimal("0.0310"), "G4.2"),
    ("interest_subsidy.usd_cny", Decimal("7.1884"), "G4.2"),
    ("interest_subsidy.cap", Decimal("500000.00"), "G4.2"),
    ("tcm_construction.rate", Decimal("0.50"), "G5.1.3"),
    ("tcm_operation.rate", Decimal("0.80"), "G5.1.4"),
    ("unit_caps.tcm.cap", Decimal("500000.00"), "G5.2"),
    ("registries.credit_lookback_years", 5, "N3.1"),
    ("registries.debarment_years", 3, "N3.2"),
    ("review.notice_working_days", 5, "N4.4"),
    ("registration.dalian_division_prefix", "2102", "G1.1.1"),
    ("registration.outside_dalian_outcome", "review", "G1.1.1"),
    ("duplicates.outcome", "review", "N3.3"),
    ("certification.unlisted_scheme_outcome", "review", "G2.2"),
    ("interest_subsidy.missing_currency_outcome", "review", "G4.2"),
]


@pytest.mark.parametrize("path,value,clause", POLICY_FIGURES, ids=[f[0] for f in POLICY_FIGURES])
def test_the_2024_figures_are_those_of_policy(path, value, clause):
    edition = read_edition(EDITIONS_DIR / "2024.yaml")
    assert edition.cited(path) == (value, clause)


def test_the_2024_lists_are_those_of_policy():
    edition = read_edition(EDITIONS_DIR / "2024.yaml")
    assert len(edition.value("certification.recognised_schemes")) == 22  # 21 names, ISO27001 also as BS7799
    assert set(edition.value("brand.group_a_titles")) | set(edition.value("brand.group_b_titles")) \
        == set(edition.value("brand.titles"))
    assert len(edition.value("brand.group_a_titles")) == 8 and len(edition.value("brand.group_b_titles")) == 2
    assert "software_development_self" not in edition.value("platform_construction.eligible_expense_kinds")
    assert edition.value("expenses.excluded_kinds") == ("software_development_self",)
    assert len(edition.value("tcm_operation.eligible_expense_kinds")) == 11
    assert edition.value("interest_subsidy.cny_per_unit")["USD"] == "7.1884"
    assert len(edition.value("commitment.pledges")) == 7
    assert set(edition.value("unit_caps.platform.project_types")) == {"platform_construction", "platform_operation"}
    for project_type in edition.value("project_types"):
        assert edition.value(f"materials.{project_type}") and edition.value(f"sections.{project_type}")


def _constants(tree: ast.AST):
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            yield node.value


def test_nothing_of_the_programme_is_a_literal_in_the_engine():
    """The figures of POLICY.md live in editions/: no cap, rate, threshold, window date, rate of exchange or
    division code appears as a constant in the code of eligibility and calculation (docstrings may cite them)."""
    forbidden_numbers = {200000, 300000, 500000, 100000, 1000000, 5000000}
    forbidden_codes = {"2102", "7.1884", "0.031", "0.0310", "0.5", "0.50", "0.7", "0.70", "0.8", "0.80"}
    forbidden_text = ["200000", "300000", "500000", "1000000", "5000000",
                      "2023-07-01", "2024-12-31", "2020-07-01", "2023-06-30", "2025-12-22", "2025-12-29"]
    found = []
    for folder in ENGINE:
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for value in _constants(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value in forbidden_numbers:
                    found.append((path.name, value))
                if isinstance(value, str) and (value in forbidden_codes or any(t in value for t in forbidden_text)):
                    found.append((path.name, value[:60]))
    assert found == []


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "9999.yaml"
    path.write_text("edition: '9999'\ntitle: t\nparameters:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("body,complaint", [
    ("  cap: {clause: G1, unit: money_cny, values: {2025-01-01: 200000.5}}\n", "strings"),
    ("  cap: {clause: G1, unit: money_cny, values: {2025-01-01: '200000.001'}}\n", "two places"),
    ("  cap: {unit: money_cny, values: {2025-01-01: '1.00'}}\n", "clause"),
    ("  rate: {clause: G1, unit: rate, values: {2025-01-01: '1.5'}}\n", "between 0 and 1"),
    ("  w: {clause: D1, unit: date_range, values: {2025-01-01: {start: 2024-12-31, end: 2023-07-01}}}\n",
     "start first"),
    ("  n: {clause: G1, unit: count, values: {2025-01-01: -1}}\n", "whole number"),
    ("  n: {clause: G1, unit: furlongs, values: {2025-01-01: 1}}\n", "unknown unit"),
    ("  n: {clause: G1, unit: count, values: {someday: 1}}\n", "effective date"),
    ("  n: 5\n", "values"),
    ("  f: {clause: G1, unit: flag, values: {2025-01-01: 'yes'}}\n", "true or false"),
])
def test_a_malformed_edition_is_refused_naming_the_parameter(tmp_path, body, complaint):
    with pytest.raises(InvalidParameterFile, match=complaint):
        read_edition(_write(tmp_path, body))


def test_a_parameter_takes_each_value_from_its_effective_date(tmp_path):
    edition = read_edition(_write(tmp_path, "  lpr: {clause: G4.2, unit: rate, reference: PBOC, values: "
                                            "{2025-12-05: '0.0310', 2026-03-01: '0.0300'}}\n"))
    lpr = edition.param("lpr")
    assert lpr.at(date(2025, 12, 5)) == (date(2025, 12, 5), Decimal("0.0310"))
    assert lpr.at(date(2026, 2, 28))[1] == Decimal("0.0310")
    assert lpr.at(date(2026, 3, 1))[1] == Decimal("0.0300") and lpr.at()[1] == Decimal("0.0300")
    assert lpr.reference == "PBOC"
    with pytest.raises(UnknownParameter, match="2025-12-05"):
        lpr.at(date(2025, 12, 4))


def test_a_copy_of_the_edition_under_another_name_loads_the_same(tmp_path):
    shutil.copy(EDITIONS_DIR / "2024.yaml", tmp_path / "2024.yaml")
    assert read_edition(tmp_path / "2024.yaml").parameters == read_edition(EDITIONS_DIR / "2024.yaml").parameters
