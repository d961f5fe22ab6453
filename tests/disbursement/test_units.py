"""Disbursement's rules without a running system: the notice calendar, reproducible samples, idempotency
fingerprints, payment-result transitions, exports, and migrations that match the models."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from common.problems import Conflict
from services.disbursement import models
from services.disbursement.clawbacks import years_after
from services.disbursement.exports import to_csv, to_xlsx
from services.disbursement.idempotency import fingerprint
from services.disbursement.notice import notice_end
from services.disbursement.payments import _transition
from services.disbursement.schemas import ObjectionResolve, PlanCreate, PlanItemRead, PlanRead
from services.disbursement.spotchecks import draw_sample


@pytest.mark.parametrize(("published", "days", "ends"), [
    (date(2025, 12, 10), 5, date(2025, 12, 17)),  # Wed: Thu, Fri, Mon, Tue, Wed (the publication day not counted)
    (date(2025, 12, 12), 5, date(2025, 12, 19)),  # Fri: the weekend does not count
    (date(2025, 9, 26), 5, date(2025, 10, 10)),   # National Day: make-up Sun 28 Sep counts, 1–8 Oct do not
    (date(2026, 2, 12), 3, date(2026, 2, 24)),    # Spring Festival 2026: make-up Sat 14 Feb counts, 15–23 Feb do not
    (date(2025, 12, 10), 1, date(2025, 12, 11)),
])
def test_notice_ends_after_working_days_on_the_prc_calendar(published, days, ends):
    assert notice_end(published, days) == ends


def test_a_year_the_calendar_does_not_know_is_a_conflict_not_a_crash():
    with pytest.raises(Conflict) as refused:
        notice_end(date(2031, 12, 29), 5)
    assert "chinesecalendar" in refused.value.detail and refused.value.extra["clause"] == "N4.4"


def test_a_seed_draws_the_same_sample_whatever_the_order_of_the_population():
    population = [f"p{i:03d}" for i in range(40)]
    first = draw_sample(population, 5, 20251210)
    assert first == draw_sample(list(reversed(population)), 5, 20251210)
    assert len(set(first)) == 5 and set(first) <= set(population)
    assert first != draw_sample(population, 5, 20251211)


def test_fingerprint_ignores_key_order_and_spacing_but_not_content_or_target():
    a = fingerprint("POST", "/clawbacks", "", b'{"amount": "1.00", "project_id": "x"}')
    assert a == fingerprint("post", "/clawbacks", "", b'{"project_id":"x","amount":"1.00"}')
    assert a != fingerprint("POST", "/clawbacks", "", b'{"project_id":"x","amount":"1.01"}')
    assert a != fingerprint("POST", "/plans/1/payments", "", b'{"amount": "1.00", "project_id": "x"}')
    assert fingerprint("POST", "/p", "b=2&a=1", b"") == fingerprint("POST", "/p", "a=1&b=2", b"")


@pytest.mark.parametrize(("current", "result", "reason", "allowed"), [
    ("pending", "paid", "", True),
    ("pending", "failed", "账户已销户", True),
    ("pending", "failed", "", False),          # a failure says why
    ("paid", "returned", "收款行退回", True),   # 退票 after crediting
    ("paid", "failed", "x", False),            # a paid payment does not fail afterwards
    ("failed", "paid", "", False),             # a failed one is retried with a new instruction, never revived
    ("returned", "paid", "", False),
    ("pending", "bounced", "", False),
])
def test_payment_results_follow_the_allowed_transitions(current, result, reason, allowed):
    instruction = models.PaymentInstruction(status=current)
    assert (_transition(instruction, result, reason) is None) == allowed


def test_debarment_years_keep_the_calendar_day():
    assert years_after(date(2025, 12, 10), 3) == date(2028, 12, 10)
    assert years_after(date(2024, 2, 29), 3) == date(2027, 3, 1)


def test_inconsistent_inputs_are_refused_by_the_schemas():
    with pytest.raises(ValueError):
        ObjectionResolve(decision="dismissed", resolution="x", effect="remove")
    with pytest.raises(ValueError):
        ObjectionResolve(decision="upheld", resolution="x")
    with pytest.raises(ValueError):
        ObjectionResolve(decision="upheld", resolution="x", effect="change_amount")
    assert ObjectionResolve(decision="upheld", resolution="x", effect="change_amount", new_amount="1.00")
    with pytest.raises(ValueError):
        PlanCreate(budget="100.00", type_budgets={"brand": "60.00", "certification": "60.00"})
    with pytest.raises(ValueError):
        PlanCreate(budget=1000.0)  # money is a string, never a float


def _plan() -> PlanRead:
    item = dict(application_id="a", unit_name="大连甲科技有限公司", uscc="91210202MA0QXXXXX1", district_code="210202",
                project_type="platform_construction", basis="audit")
    return PlanRead(
        id="p", edition="2024", version=3, status="published", budget="200000.00", type_budgets=None,
        total="100000.01", scaling_factor="0.5", unit_caps_trace=[], scaling_trace=[], left_out=[], previous_id=None,
        superseded_by=None, published_on=date(2025, 12, 10), notice_working_days=5, notice_ends_on=date(2025, 12, 17),
        finalised_at=None, created_at=datetime(2025, 12, 10, tzinfo=timezone.utc), item_count=2,
        items=[PlanItemRead(project_id="x", computed_amount="120000.00", capped_amount="120000.00",
                            allocated_amount="60000.01", **item),
               PlanItemRead(project_id="y", computed_amount="80000.00", capped_amount="80000.00",
                            allocated_amount="40000.00", **item)])


def test_exports_carry_every_line_exact_to_the_fen():
    text = to_csv(_plan()).decode("utf-8-sig").splitlines()
    assert text[0].startswith("序号,申报单位,统一社会信用代码") and text[1].endswith(",120000.00,120000.00,60000.01")
    sheet = load_workbook(io.BytesIO(to_xlsx(_plan()))).active
    assert "第3版" in sheet["A1"].value and "2025-12-17" in sheet["A2"].value
    assert [sheet.cell(row=r, column=8).value for r in (4, 5, 6)] == [60000.01, 40000, 100000.01]
    assert sheet.cell(row=6, column=2).value == "合计" and sheet["H4"].number_format == "#,##0.00"
    assert sum(Decimal(str(sheet.cell(row=r, column=8).value)) for r in (4, 5)) == Decimal("100000.01")
