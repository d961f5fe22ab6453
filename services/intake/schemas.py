"""Request and response models of the intake service."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from common.money import Money

from .forms import ApplicationContent, ApplicationContentRead, ProjectType, _valid_uscc

ApplicationStatus = Literal["draft", "submitted", "returned", "district_passed", "rejected"]
EvaluationStatus = Literal["not_requested", "pending", "failed_retrying", "done"]


class ApplicantCreate(BaseModel):
    """A unit registering to apply."""

    model_config = {"json_schema_extra": {"examples": [{
        "uscc": "91210202MA0Q7K3X1Y", "name": "大连海辰云数据科技有限公司", "legal_representative": "王海辰",
        "district_code": "210202", "registered_capital": "10000000.00", "contact_name": "李四",
        "contact_phone": "0411-82650000", "bank_account_name": "大连海辰云数据科技有限公司", "bank_name": "中国工商银行大连分行",
        "bank_account_number": "3400200012345678901"}]}}

    uscc: str = Field(description="统一社会信用代码 (GB 32100, check digit validated)",
                      examples=["91210202MA0QXXXXX0"])
    name: str = Field(min_length=1, max_length=200, description="申报单位名称")
    legal_representative: str = Field(min_length=1, max_length=100, description="法定代表人")
    district_code: str = Field(pattern=r"^\d{6}$", description="注册地区市县代码 (GET /districts)")
    registered_capital: Money = Field(description="注册资金（元）")
    contact_name: str = Field(min_length=1, max_length=50, description="联系人")
    contact_phone: str = Field(min_length=1, max_length=30, description="联系电话")
    bank_account_name: str = Field(min_length=1, max_length=200, description="账户户名")
    bank_name: str = Field(min_length=1, max_length=200, description="开户银行")
    bank_account_number: str = Field(pattern=r"^[0-9 -]{6,40}$", description="银行账号")

    _check_uscc = field_validator("uscc")(_valid_uscc)


class ApplicantRead(BaseModel):
    """A registered unit."""

    id: str = Field(description="Applicant id")
    uscc: str = Field(description="统一社会信用代码")
    name: str = Field(description="申报单位名称")
    legal_representative: str = Field(description="法定代表人")
    district_code: str = Field(description="注册地区市县代码")
    district_name: str = Field(description="注册地区市县")
    uscc_division_code: str = Field(description="统一社会信用代码中的登记管理机关行政区划码（第3–8位）")
    needs_review: list[str] = Field(description="Why an officer should look (e.g. a non-Dalian division code)")
    registered_capital: Money = Field(description="注册资金（元）")
    contact_name: str = Field(description="联系人")
    contact_phone: str = Field(description="联系电话")
    bank_account_name: str = Field(description="账户户名")
    bank_name: str = Field(description="开户银行")
    bank_account_number: str = Field(description="银行账号 (masked except for finance and service callers)")
    created_at: datetime = Field(description="登记时间")


class ApplicationCreate(BaseModel):
    """A new draft application."""

    model_config = {"json_schema_extra": {"examples": [{
        "applicant_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "edition": "2024", "project_type": "certification",
        "content": {"offshore_execution": {"approved_usd": "2600000.00"}, "f5_certifications": [
            {"line_no": 1, "scheme": "CMMI", "kind": "new", "certified_on": "2024-05-20", "fee": "180000.00",
             "requested": "126000.00"}]}}]}}

    applicant_id: str = Field(description="The applicant unit")
    edition: str = Field(default="2024", pattern=r"^\d{4}$", description="Programme edition")
    project_type: ProjectType = Field(description="项目类型")
    content: ApplicationContent = Field(default_factory=ApplicationContent, description="The forms (附件1–9)")


class ApplicationUpdate(BaseModel):
    """New content for a draft (kept as a new version)."""

    content: ApplicationContent = Field(description="The forms (附件1–9), replacing the previous version")


class ApplicationRead(BaseModel):
    """An application with its state and the answers of eligibility and calculation."""

    id: str = Field(description="Application id")
    applicant_id: str = Field(description="The applicant unit")
    edition: str = Field(description="Programme edition")
    project_type: ProjectType = Field(description="项目类型")
    status: ApplicationStatus = Field(
        description="状态: draft 草稿, submitted 已提交区市县, returned 退回修改, district_passed 初审通过, rejected 不予通过")
    version: int = Field(description="Content version (1 for a new draft)")
    content: ApplicationContentRead = Field(description="The forms (附件1–9)")
    submitted_at: datetime | None = Field(description="提交时间")
    evaluation_status: EvaluationStatus = Field(
        description="Eligibility and calculation of the submission: not_requested (a draft), pending (queued), "
                    "failed_retrying (a call failed; retried with backoff until it succeeds), done")
    evaluation_attempts: int = Field(description="Calls made so far to get the evaluation of the latest submission")
    evaluation_error: str | None = Field(description="Why the last attempt failed, while failed_retrying")
    evaluation: dict | None = Field(description="The eligibility service's answer (POST /evaluations)")
    computation: dict | None = Field(description="The calculation service's answer (POST /computations)")
    created_at: datetime = Field(description="Created")
    updated_at: datetime = Field(description="Last changed")


class DocumentRead(BaseModel):
    """An evidence document's record."""

    id: str = Field(description="Document id")
    application_id: str = Field(description="Its application")
    kind: str = Field(description="文件类别 (business_licence, invoice, …)")
    filename: str = Field(description="Original file name")
    media_type: str = Field(description="Detected from the content: application/pdf, image/png, image/jpeg")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="SHA-256 of the content, computed by the server")
    created_at: datetime = Field(description="Uploaded")


class ReviewDecision(BaseModel):
    """A district officer's preliminary review decision (初审)."""

    model_config = {"json_schema_extra": {"examples": [{"decision": "return", "reason": "请补充服务企业合同（附件4）"}]}}

    decision: Literal["pass", "return", "reject"] = Field(description="pass 通过 / return 退回修改 / reject 不予通过")
    reason: str = Field(default="", max_length=1000, description="理由 (required to return or reject)")


class DistrictRead(BaseModel):
    """A Dalian county-level division or leading zone (区市县、先导区)."""

    code: str = Field(description="区划代码 (the division code the registration authority puts in the USCC)")
    name: str = Field(description="名称")
    kind: Literal["district", "county", "county_level_city", "leading_zone"] = Field(
        description="district 区, county 县, county_level_city 县级市, leading_zone 先导区")


class DistrictSubmissionRead(BaseModel):
    """A district's stamped sending of its passed projects to the city (N4.1)."""

    id: str = Field(description="Submission id")
    district_code: str = Field(description="区划代码")
    edition: str = Field(description="Programme edition")
    project_count: int = Field(description="Passed projects in the summary table")
    submitted_by: str = Field(description="Who sent it")
    submitted_at: datetime = Field(description="When (the stamp)")


class VersionRead(BaseModel):
    """A kept version of an application's forms."""

    version: int = Field(description="1 for the first draft")
    content: ApplicationContentRead = Field(description="The forms as they were")
    changed_by: str = Field(description="Who saved this version")
    changed_at: datetime = Field(description="When")


class ReviewRead(BaseModel):
    """A recorded district decision."""

    decision: Literal["pass", "return", "reject"] = Field(description="pass 通过 / return 退回修改 / reject 不予通过")
    reason: str = Field(description="理由")
    decided_by: str = Field(description="The district officer")
    decided_at: datetime = Field(description="When")


class DossierApplicant(BaseModel):
    """The applicant as a dossier carries it (docs/dossier.md)."""

    uscc: str = Field(description="统一社会信用代码")
    name: str = Field(description="申报单位名称")
    district_code: str = Field(description="注册地区市县代码")
    independent_legal_person: bool = Field(description="独立法人资格（承诺书第1项, G1.1.1 G2.1.1 G3.1.1 G4.1.1 G5.1.2）")


class DossierRead(BaseModel):
    """One application, self-contained, as eligibility and calculation receive it (docs/dossier.md)."""

    edition: str = Field(description="Programme edition")
    application_id: str = Field(description="Application id")
    project_type: ProjectType = Field(description="项目类型")
    submitted_at: datetime | None = Field(description="提交时间 (registries are judged as of it)")
    applicant: DossierApplicant = Field(description="申报单位")
    content: ApplicationContentRead = Field(description="The forms (附件1–9), unmasked")
