"""Request and response models of the eligibility service."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"  # GB 32100's alphabet: no I, O, S, V, Z


class CheckRead(BaseModel):
    """One rule applied: which clause it enforces and what it found."""

    rule: str = Field(description="Stable rule id, e.g. certification.offshore_execution")
    clause: str = Field(description="Clause of POLICY.md, e.g. G2.1.2")
    outcome: Literal["pass", "fail", "review"] = Field(description="pass, fail (ineligible), review (an officer decides)")
    message_zh: str = Field(description="说明（中文）")
    message_en: str = Field(description="Explanation (English)")
    details: dict[str, Any] = Field(default_factory=dict, description="The figures the rule looked at")


class EvaluationRead(BaseModel):
    """The outcome of evaluating one dossier."""

    id: str = Field(description="Evaluation id")
    application_id: str | None = Field(description="The application, or null for a pre-check")
    edition: str = Field(description="Programme edition")
    project_type: str = Field(description="项目类型")
    outcome: Literal["eligible", "ineligible", "needs_review"] = Field(description="符合 / 不符合 / 需人工审核")
    reference_date: date = Field(description="Date the registries were judged at (POLICY.md)")
    evaluated_at: datetime = Field(description="When")
    checks: list[CheckRead] = Field(description="Every check made, in order")


class CreditEntryIn(BaseModel):
    """A credit-list entry to import (N3.1)."""

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码")
    kind: Literal["serious_dishonesty", "major_tax_violation", "dishonest_judgment_debtor", "customs_dishonesty",
                  "overdue_fiscal_funds"] = Field(description="失信类别")
    source: str = Field(min_length=1, max_length=200, description="来源")
    listed_on: date = Field(description="列入日期")
    delisted_on: date | None = Field(default=None, description="移出日期")


class CreditEntryRead(CreditEntryIn):
    """A credit-list entry."""

    id: str = Field(description="Entry id")


class DebarmentIn(BaseModel):
    """A debarment to record (N3.2: three years for forged materials)."""

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码")
    reason: str = Field(min_length=1, max_length=500, description="原因")
    source: str = Field(min_length=1, max_length=200, description="来源（如追缴记录）")
    starts_on: date = Field(description="起始日期")
    ends_on: date | None = Field(default=None, description="截止日期; default: starts_on + the edition's years")


class DebarmentRead(BaseModel):
    """A debarment."""

    id: str = Field(description="Debarment id")
    uscc: str = Field(description="统一社会信用代码")
    reason: str = Field(description="原因")
    source: str = Field(description="来源")
    starts_on: date = Field(description="起始日期")
    ends_on: date = Field(description="截止日期")


class RecognisedBaseIn(BaseModel):
    """A recognised national TCM service export base (G5.1.1)."""

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码")
    base_name: str = Field(min_length=1, max_length=200, description="基地名称")
    recognised_on: date | None = Field(default=None, description="认定日期")


class RecognisedBaseRead(RecognisedBaseIn):
    """A recognised base."""

    id: str = Field(description="Entry id")


class ImportResult(BaseModel):
    """How a bulk import went."""

    imported: int = Field(description="Rows stored")


class ParameterRead(BaseModel):
    """One parameter of an edition with its clause and the date it took effect."""

    path: str = Field(description="Dotted name, e.g. certification.max_items")
    description: str = Field(description="What it is (中文 / English)")
    clause: str = Field(description="Clause of POLICY.md")
    unit: str = Field(description="money_cny, money_usd, rate, count, date, date_range, list, map, decimal")
    effective_from: date = Field(description="Date the value takes effect")
    value: Any = Field(description="The value (amounts and rates as strings)")
