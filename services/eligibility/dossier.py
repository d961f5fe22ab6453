"""The eligibility service's own reading of a dossier (docs/dossier.md): only what its rules look at."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.money import Money

# instants outside these years are not the programme's (and would overflow time-zone arithmetic)
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)
LineNo = Annotated[int, Field(ge=1, le=99_999, description="序号")]


class Loose(BaseModel):
    """Sections are read leniently: intake has validated the forms; absent parts are checks that fail."""

    model_config = ConfigDict(extra="ignore")


class DossierApplicant(Loose):
    """The applicant unit (申报单位)."""

    uscc: str = Field(min_length=1, max_length=40, description="统一社会信用代码 (GB 32100)")
    name: str = Field(default="", max_length=200, description="申报单位名称")
    district_code: str | None = Field(default=None, max_length=12, description="注册地区市县代码")
    independent_legal_person: bool | None = Field(default=None, description="是否具有独立法人资格")

    @field_validator("uscc")
    @classmethod
    def _compact(cls, value: str) -> str:
        """The code as registries key it: no spaces or dashes, upper case (the check digit is a rule's business)."""
        return "".join(value.split()).replace("-", "").upper()


class Commitment(Loose):
    """附件1 承诺书."""

    pledges: dict[str, bool] = Field(default_factory=dict, description="承诺事项（键见 docs/dossier.md）")
    signatory: str | None = Field(default=None, max_length=100, description="法定代表人或被授权人")
    signed_on: date | None = Field(default=None, description="签署日期")


class Platform(Loose):
    """附件2 平台申请表 (the platform, or the TCM base's platform)."""

    platform_name: str = Field(default="", max_length=200, description="平台名称")
    completed_on: date | None = Field(default=None, description="平台建成时间")
    served_firm_count: int | None = Field(default=None, ge=0, le=10_000_000, description="服务本市企业数量（家）")


class Expense(Loose):
    """附件3 费用支出清单, one line."""

    line_no: LineNo
    expense_kind: str = Field(max_length=60, description="费用类别")
    invoice_number: str = Field(min_length=1, max_length=40, description="发票号码")
    invoice_date: date = Field(description="发票开具日期")


class ServedFirm(Loose):
    """附件4 服务企业情况表, one line."""

    line_no: LineNo
    name: str = Field(default="", max_length=200, description="企业名称")
    uscc: str | None = Field(default=None, max_length=40, description="统一社会信用代码")


class Certification(Loose):
    """附件5 国际资质认证申请表, one line."""

    line_no: LineNo
    scheme: str = Field(max_length=60, description="认证名称")
    certified_on: date = Field(description="认证时间")


class Offshore(Loose):
    """离岸执行额 (G2.1.2, G3.1.2, G4.1.2)."""

    approved_usd: Money = Field(description="支持期内经核准的离岸执行额（美元）")


class Award(Loose):
    """品牌荣誉 (G3.1.2)."""

    title: str = Field(max_length=60, description="荣誉称号")


class InterestContract(Loose):
    """附件9 贴息支持申请表, one contract."""

    line_no: LineNo
    executed_on: date | None = Field(default=None, description="执行日期")
    receipt_on: date | None = Field(default=None, description="收汇日期")
    receipt_currency: str = Field(default="USD", max_length=8, description="收汇币种")


class TcmBase(Loose):
    """国家中医药服务出口基地 (G5.1.1, G5.1.3)."""

    base_name: str = Field(default="", max_length=200, description="基地名称")
    first_application: bool | None = Field(default=None, description="是否首次申报基地建设支持")


class Content(Loose):
    """The forms the rules read."""

    f1_commitment: Commitment | None = Field(default=None, description="附件1 承诺书")
    f2_platform: Platform | None = Field(default=None, description="附件2 平台申请表")
    f3_expenses: list[Expense] | None = Field(default=None, max_length=5000, description="附件3 费用支出清单")
    f4_served_firms: list[ServedFirm] | None = Field(default=None, max_length=20000, description="附件4 服务企业情况表")
    f5_certifications: list[Certification] | None = Field(default=None, max_length=100,
                                                          description="附件5 国际资质认证申请表")
    offshore_execution: Offshore | None = Field(default=None, description="离岸执行额")
    award: Award | None = Field(default=None, description="品牌荣誉")
    f9_interest_contracts: list[InterestContract] | None = Field(default=None, max_length=5000,
                                                                 description="附件9 贴息支持申请表")
    tcm_base: TcmBase | None = Field(default=None, description="中医药服务出口基地")


class Dossier(Loose):
    """One application, self-contained (docs/dossier.md)."""

    edition: str = Field(max_length=32, description="Programme edition, e.g. 2024 (年度)")
    application_id: str | None = Field(default=None, min_length=1, max_length=64,
                                       description="申请编号; null for a pre-check")
    project_type: str = Field(max_length=40, description="项目类型 (POLICY.md vocabulary)")
    submitted_at: datetime | None = Field(default=None, description="提交时间 (ISO 8601 with offset); null for a pre-check")
    applicant: DossierApplicant = Field(description="申报单位")
    content: Content = Field(default_factory=Content, description="申报表单（附件1–9）")

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "edition": "2024", "application_id": None, "project_type": "certification", "submitted_at": None,
        "applicant": {"uscc": "91210202MA0QXXXXX0", "name": "大连示例软件有限公司", "district_code": "210202",
                      "independent_legal_person": True},
        "content": {"offshore_execution": {"approved_usd": "999999.99"},
                    "f5_certifications": [{"line_no": 1, "scheme": "CMMI", "kind": "new",
                                           "certified_on": "2024-05-01", "fee": "150000.00",
                                           "requested": "105000.00"}]}}]})

    @field_validator("submitted_at")
    @classmethod
    def _plausible_instant(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.tzinfo is None:  # docs/dossier.md: instants carry an offset; a bare one is read as UTC
            value = value.replace(tzinfo=timezone.utc)
        if not EARLIEST <= value < LATEST:
            raise ValueError("submitted_at lies outside the years 2000–2199")
        return value
