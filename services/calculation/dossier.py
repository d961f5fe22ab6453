"""The calculation service's own reading of a dossier (docs/dossier.md): only the figures it prices."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.money import Money

EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)
LineNo = Annotated[int, Field(ge=1, le=99_999, description="序号")]


class Loose(BaseModel):
    """Sections are read leniently: intake has validated the forms; what is absent counts for nothing."""

    model_config = ConfigDict(extra="ignore")


class Expense(Loose):
    """附件3 费用支出清单, one line."""

    line_no: LineNo
    content: str = Field(default="", max_length=200, description="费用支出具体内容")
    expense_kind: str = Field(max_length=60, description="费用类别")
    invoice_amount: Money = Field(description="发票金额（元）")
    paid_amount: Money = Field(description="实付金额（元）")
    invoice_number: str = Field(default="", max_length=40, description="发票号码")
    invoice_date: date = Field(description="发票开具日期")


class Certification(Loose):
    """附件5 国际资质认证申请表, one line."""

    line_no: LineNo
    scheme: str = Field(max_length=60, description="认证名称")
    certified_on: date = Field(description="认证时间")
    fee: Money = Field(description="认证费用（元）")
    requested: Money = Field(description="拟申请支持金额（元）")


class InterestContract(Loose):
    """附件9 贴息支持申请表, one contract."""

    line_no: LineNo
    contract_number: str = Field(default="", max_length=60, description="合同号")
    executed_on: date = Field(description="执行日期")
    executed_usd: Money = Field(description="执行金额（美元）")
    receipt_on: date = Field(description="收汇日期")
    receipt_currency: str = Field(default="USD", max_length=8, description="收汇币种")
    receipt_amount: Money = Field(description="收汇金额（收汇币种）")


class Offshore(Loose):
    """离岸执行额."""

    approved_usd: Money = Field(description="支持期内经核准的离岸执行额（美元）")


class Award(Loose):
    """品牌荣誉."""

    title: str = Field(max_length=60, description="荣誉称号")


class Content(Loose):
    """The forms calculation prices."""

    f3_expenses: list[Expense] | None = Field(default=None, max_length=5000, description="附件3 费用支出清单")
    f5_certifications: list[Certification] | None = Field(default=None, max_length=100,
                                                          description="附件5 国际资质认证申请表")
    f9_interest_contracts: list[InterestContract] | None = Field(default=None, max_length=5000,
                                                                 description="附件9 贴息支持申请表")
    offshore_execution: Offshore | None = Field(default=None, description="离岸执行额")
    award: Award | None = Field(default=None, description="品牌荣誉")


class Disallowed(Loose):
    """A line the third-party auditor disallowed (N4.2)."""

    form: Literal["f3_expenses", "f5_certifications", "f9_interest_contracts"] = Field(
        description="表单：f3_expenses 费用支出清单, f5_certifications 认证申请表, f9_interest_contracts 贴息申请表")
    line_no: LineNo
    reason: str = Field(default="", max_length=500, description="核减理由")


class Dossier(Loose):
    """One application as the calculation service reads it (docs/dossier.md), with the audit's disallowed lines."""

    edition: str = Field(max_length=32, description="年度 / programme edition")
    application_id: str | None = Field(default=None, min_length=1, max_length=64,
                                       description="申请编号, or null for a pre-check")
    project_type: str = Field(max_length=40, description="项目类型")
    submitted_at: datetime | None = Field(default=None, description="提交时间; null for a pre-check")
    applicant: dict = Field(default_factory=dict, description="申报单位 (uscc, name …)")
    content: Content = Field(default_factory=Content, description="申报表单（附件1–9）")
    disallowed: list[Disallowed] = Field(default_factory=list, max_length=5000,
                                         description="审计核减的行 (N4.2): recomputed without them")

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": "91210202MA0QXXXXX0"},
        "content": {"f3_expenses": [{"line_no": 1, "content": "服务器", "expense_kind": "server",
                                     "contract_amount": "120000.00", "invoice_amount": "120000.00",
                                     "paid_amount": "120000.00", "invoice_number": "04400001",
                                     "invoice_date": "2024-03-01"}]},
        "disallowed": []}]})

    @field_validator("submitted_at")
    @classmethod
    def _plausible_instant(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        if not EARLIEST <= value < LATEST:
            raise ValueError("submitted_at lies outside the years 2000–2199")
        return value

    @property
    def uscc(self) -> str | None:
        """The applicant's USCC, if given."""
        value = self.applicant.get("uscc")
        return value if isinstance(value, str) else None
