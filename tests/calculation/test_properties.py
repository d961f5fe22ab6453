"""Properties of the money arithmetic over random inputs (hypothesis): no amount exceeds its rate × base or its cap,
unit totals never exceed the unit cap, a scaled plan sums exactly to the budget and gives no one more."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from common.parameters import load_edition
from services.calculation import amounts
from services.calculation.caps import apply_unit_caps, cap_groups
from services.calculation.dossier import Dossier
from services.calculation.scaling import budget_scaling, scale_to_total
from services.calculation.schemas import BudgetScalingIn

EDITION = load_edition("2024")
ON = date(2025, 12, 10)
FEN = Decimal("0.01")
fens = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n) / 100)
positive_fens = st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100)
days = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 6, 30))


def _step(trace, name):
    return next(s for s in trace.steps if s["step"] == name)


def _is_fen(value: Decimal) -> bool:
    return value == value.quantize(FEN)


@settings(max_examples=200, deadline=None)
@given(st.lists(fens, min_size=1, max_size=60), fens)
def test_a_scaled_plan_sums_exactly_to_the_budget_and_gives_no_one_more(values, budget):
    items = {f"p{i}": v for i, v in enumerate(values)}
    scaled, factor = scale_to_total(items, budget)
    if sum(values, Decimal("0.00")) <= budget:
        assert scaled == items and factor == 1
    else:
        assert sum(scaled.values(), Decimal("0.00")) == budget
    for key, value in scaled.items():
        assert Decimal("0.00") <= value <= items[key] and _is_fen(value)
        # largest remainder: nobody is more than one fen from their exact share
        assert abs(value - items[key] * factor) < FEN


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["brand", "certification", "platform_construction", None]), fens),
                min_size=1, max_size=30),
       fens, st.sampled_from([{}, {"brand": "100000.00"}, {"brand": "0.00", "certification": "250000.00"}]))
def test_a_plan_with_budgets_per_type_never_exceeds_any_of_them(items, budget, type_budgets):
    reserved = sum((Decimal(v) for v in type_budgets.values()), Decimal("0.00"))
    budget = max(budget, reserved)
    data = BudgetScalingIn(budget=budget, type_budgets=type_budgets or None, items=[
        {"key": f"k{i}", "amount": amount, "project_type": project_type}
        for i, (project_type, amount) in enumerate(items)])
    plan = budget_scaling(data)
    assert plan.total_allocated <= budget
    by_group: dict = {}
    for item in plan.items:
        assert item.allocated <= item.amount and _is_fen(item.allocated)
        group = item.project_type if item.project_type in type_budgets else None
        by_group.setdefault(group, []).append(item)
    for group, members in by_group.items():
        limit = Decimal(type_budgets[group]) if group is not None else budget - reserved
        requested = sum((m.amount for m in members), Decimal("0.00"))
        allocated = sum((m.allocated for m in members), Decimal("0.00"))
        assert allocated == min(requested, limit)


expense_lines = st.lists(st.tuples(
    st.sampled_from(["server", "licensed_software", "software_development_self", "cloud_lease", "system_maintenance",
                     "information_system", "trade_fair"]),
    positive_fens, positive_fens, days), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(expense_lines, st.sampled_from(["platform_construction", "platform_operation", "tcm_construction",
                                       "tcm_operation"]),
       st.lists(st.integers(min_value=1, max_value=12), max_size=3))
def test_no_expense_amount_exceeds_rate_times_base_or_its_caps(lines, project_type, disallowed):
    dossier = Dossier(edition="2024", project_type=project_type, content={"f3_expenses": [
        {"line_no": i, "expense_kind": kind, "invoice_amount": str(invoiced), "paid_amount": str(paid),
         "invoice_date": day.isoformat()} for i, (kind, invoiced, paid, day) in enumerate(lines, 1)]},
        disallowed=[{"form": "f3_expenses", "line_no": n} for n in disallowed])
    amount, trace = amounts.compute(dossier, EDITION, ON)
    base = Decimal(_step(trace, "eligible base")["result"])
    assert amount <= base * EDITION.value(f"{project_type}.rate") and _is_fen(amount) and amount >= 0
    if EDITION.has(f"{project_type}.cap"):
        assert amount <= EDITION.value(f"{project_type}.cap")
    group = next(g for g, types in cap_groups(EDITION, ON).items() if project_type in types)
    assert amount <= EDITION.value(f"unit_caps.{group}.cap")
    counted = {c["line_no"] for c in _step(trace, "eligible base")["inputs"]["counted"]}
    assert not counted & set(disallowed)
    assert base == sum((min(invoiced, paid) for i, (kind, invoiced, paid, day) in enumerate(lines, 1)
                        if i in counted), Decimal("0.00"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(positive_fens, positive_fens, days), min_size=0, max_size=5))
def test_no_certification_amount_exceeds_rate_times_fees_the_requests_or_the_cap(items):
    dossier = Dossier(edition="2024", project_type="certification", content={"f5_certifications": [
        {"line_no": i, "scheme": "CMMI", "certified_on": day.isoformat(), "fee": str(fee), "requested": str(asked)}
        for i, (fee, asked, day) in enumerate(items, 1)]})
    amount, trace = amounts.compute(dossier, EDITION, ON)
    fees = Decimal(_step(trace, "eligible fees")["result"])
    counted = _step(trace, "eligible fees")["inputs"]["counted"]
    assert amount <= fees * EDITION.value("certification.rate") and _is_fen(amount)
    assert amount <= EDITION.value("certification.cap")
    assert amount <= sum((Decimal(c["requested"]) for c in counted), Decimal("0.00"))


contracts = st.lists(st.tuples(positive_fens, days, positive_fens, days, st.sampled_from(["USD", "USD", "EUR"])),
                     min_size=0, max_size=6)


@settings(max_examples=200, deadline=None)
@given(contracts, st.one_of(st.none(), positive_fens))
def test_no_interest_subsidy_exceeds_principal_times_parity_times_lpr_or_the_cap(rows, approved):
    content = {"f9_interest_contracts": [
        {"line_no": i, "executed_on": d1.isoformat(), "executed_usd": str(executed), "receipt_on": d2.isoformat(),
         "receipt_currency": currency, "receipt_amount": str(received)}
        for i, (executed, d1, received, d2, currency) in enumerate(rows, 1)]}
    if approved is not None:
        content["offshore_execution"] = {"approved_usd": str(approved)}
    amount, trace = amounts.compute(Dossier(edition="2024", project_type="interest_subsidy", content=content),
                                    EDITION, ON)
    principal = _step(trace, "principal")
    value = Decimal(principal["result"])
    assert value <= Decimal(principal["inputs"]["approved_execution_usd"])
    assert value <= Decimal(principal["inputs"]["receipts_usd"])
    if approved is not None:
        assert value <= approved
    ceiling = value * EDITION.value("interest_subsidy.usd_cny") * EDITION.value("interest_subsidy.lpr")
    assert amount <= ceiling and amount <= EDITION.value("interest_subsidy.cap") and _is_fen(amount)
    assert amount > ceiling - FEN or amount == EDITION.value("interest_subsidy.cap")  # rounded down, by < 1 fen


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3"]),
                          st.sampled_from(["platform_construction", "platform_operation", "tcm_construction",
                                           "tcm_operation", "brand", "certification"]), fens),
                min_size=1, max_size=20))
def test_unit_totals_never_exceed_the_unit_cap(projects):
    items = [(f"k{i}", unit, project_type, amount) for i, (unit, project_type, amount) in enumerate(projects)]
    capped, _ = apply_unit_caps(EDITION, items)
    groups = cap_groups(EDITION, None)
    for unit in ("u1", "u2", "u3"):
        for group, types in groups.items():
            members = [(key, amount) for key, u, t, amount in items if u == unit and t in types]
            before = sum((amount for _, amount in members), Decimal("0.00"))
            after = sum((capped[key] for key, _ in members), Decimal("0.00"))
            assert after == min(before, EDITION.value(f"unit_caps.{group}.cap"))
            assert all(capped[key] <= amount and _is_fen(capped[key]) for key, amount in members)
    grouped = {t for types in groups.values() for t in types}
    assert all(capped[key] == amount for key, _, t, amount in items if t not in grouped)
