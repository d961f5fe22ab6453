"""Properties of the money arithmetic over random inputs (hypothesis): caps hold, plans sum exactly."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from common.parameters import load_edition
from services.calculation import amounts
from services.calculation.scaling import scale_to_total
from services.calculation.schemas import CapItem, UnitCapsIn
from services.calculation.service import unit_caps

EDITION = load_edition("2024")
fen_amounts = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n) / 100)


@settings(max_examples=300, deadline=None)
@given(st.lists(fen_amounts, min_size=1, max_size=60), fen_amounts)
def test_a_scaled_plan_sums_exactly_to_the_budget_and_gives_no_one_more(values, budget):
    items = {f"p{i}": v for i, v in enumerate(values)}
    scaled, _ = scale_to_total(items, budget)
    total = sum(values, Decimal("0.00"))
    if total <= budget:
        assert scaled == items
    else:
        assert sum(scaled.values(), Decimal("0.00")) == budget
    for key, value in scaled.items():
        assert Decimal("0.00") <= value <= items[key]
        assert value == value.quantize(Decimal("0.01"))


expense_lines = st.lists(st.tuples(
    st.sampled_from(["server", "licensed_software", "software_development_self", "cloud_lease"]),
    st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100),
    st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100),
    st.dates(min_value=__import__("datetime").date(2023, 1, 1), max_value=__import__("datetime").date(2025, 6, 30)),
), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(expense_lines, st.sampled_from(["platform_construction", "platform_operation"]))
def test_no_amount_exceeds_rate_times_base_or_the_cap(lines, project_type):
    dossier = amounts.Dossier(edition="2024", project_type=project_type, content={"f3_expenses": [
        {"line_no": i, "expense_kind": kind, "invoice_amount": str(invoiced), "paid_amount": str(paid),
         "invoice_date": day.isoformat()} for i, (kind, invoiced, paid, day) in enumerate(lines, 1)]})
    amount, trace = amounts.compute(dossier, EDITION)
    base = Decimal(next(s for s in trace if s["step"] == "eligible base")["result"])
    rate = EDITION.value(f"{project_type}.rate")
    assert amount <= base * rate
    assert amount <= EDITION.value(f"{project_type}.cap")
    assert amount == amount.quantize(Decimal("0.01"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3"]),
                          st.sampled_from(["platform_construction", "platform_operation", "tcm_construction",
                                           "tcm_operation", "brand"]),
                          st.integers(min_value=0, max_value=5 * 10**7).map(lambda n: Decimal(n) / 100)),
                min_size=1, max_size=20))
def test_unit_totals_never_exceed_the_unit_cap(projects):
    data = UnitCapsIn(edition="2024", items=[CapItem(key=f"k{i}", uscc=u, project_type=t, amount=a)
                                             for i, (u, t, a) in enumerate(projects)])
    result = unit_caps(data)
    caps = {"platform": EDITION.value("platform_unit_cap"), "tcm": EDITION.value("tcm_unit_cap")}
    for unit in ("u1", "u2", "u3"):
        for group, cap in caps.items():
            members = [i for i in result.items if i.uscc == unit and i.project_type.startswith(group)]
            before = sum((i.amount for i in members), Decimal("0.00"))
            after = sum((i.capped_amount for i in members), Decimal("0.00"))
            assert after == min(before, cap)
            assert all(i.capped_amount <= i.amount for i in members)
