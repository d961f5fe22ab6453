"""The eligibility service's own reading of a dossier (docs/dossier.md): only what its rules look at."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from common.money import Money


class Loose(BaseModel):
    """Sections are read leniently: intake has validated the forms; absent parts are checks that fail."""

    model_config = ConfigDict(extra="ignore")


class DossierApplicant(Loose):
    uscc: str = Field(description="统一社会信用代码")
    name: str = Field(default="", description="申报单位名称")
    district_code: str | None = Field(default=None, description="注册地区市县代码")
    independent_legal_person: bool | None = Field(default=None, description="独立法人资格（承诺书第1项）")


class Commitment(Loose):
    pledges: dict[str, bool] = Field(default_factory=dict, description="承诺事项")
    signatory: str | None = None
    signed_on: date | None = None


class Platform(Loose):
    platform_name: str = ""
    completed_on: date | None = None
    served_firm_count: int | None = None


class Expense(Loose):
    line_no: int
    expense_kind: str
    invoice_number: str
    invoice_date: date


class Certification(Loose):
    line_no: int
    scheme: str
    certified_on: date


class Offshore(Loose):
    approved_usd: Money


class Award(Loose):
    title: str


class InterestContract(Loose):
    line_no: int
    receipt_currency: str = "USD"


class TcmBase(Loose):
    base_name: str = ""
    first_application: bool | None = None


class Content(Loose):
    f1_commitment: Commitment | None = None
    f2_platform: Platform | None = None
    f3_expenses: list[Expense] | None = None
    f4_served_firms: list[dict] | None = None
    f5_certifications: list[Certification] | None = None
    offshore_execution: Offshore | None = None
    award: Award | None = None
    f9_interest_contracts: list[InterestContract] | None = None
    tcm_base: TcmBase | None = None


class Dossier(Loose):
    """One application, self-contained."""

    edition: str = Field(description="Programme edition, e.g. 2024")
    application_id: str | None = Field(default=None, description="null for a pre-check")
    project_type: str = Field(description="项目类型 (POLICY.md vocabulary)")
    submitted_at: datetime | None = Field(default=None, description="提交时间; null for a pre-check")
    applicant: DossierApplicant = Field(description="The applicant unit")
    content: Content = Field(default_factory=Content, description="The forms (附件1–9)")

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "edition": "2024", "application_id": None, "project_type": "certification", "submitted_at": None,
        "applicant": {"uscc": "91210202MA0QXXXXX0", "name": "大连示例软件有限公司", "district_code": "210202",
                      "independent_legal_person": True},
        "content": {"offshore_execution": {"approved_usd": "999999.99"},
                    "f5_certifications": [{"line_no": 1, "scheme": "CMMI", "kind": "new",
                                           "certified_on": "2024-05-01", "fee": "200000.00",
                                           "requested": "140000.00"}]}}]})


def usd(amount: Decimal) -> str:
    """An amount as the notice writes it: 999,999.99."""
    return f"{amount:,.2f}"
