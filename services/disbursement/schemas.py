"""Request and response models of the disbursement service."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from common.money import Money


class ComputedAmountRead(BaseModel):
    """An application's computed amount, as the city sees it before audit."""

    application_id: str = Field(description="The application")
    applicant_id: str = Field(description="Its unit")
    project_type: str = Field(description="项目类型")
    status: str = Field(description="The application's status at intake")
    outcome: str | None = Field(description="The eligibility outcome (eligible / ineligible / needs_review)")
    amount: Money | None = Field(description="Computed amount (元); null while the evaluation is pending")


class ImportResult(BaseModel):
    """Projects taken over from the districts."""

    imported: int = Field(description="New projects")
    already_present: int = Field(description="Projects imported before")
    skipped: list[dict] = Field(description="Passed applications not taken yet, and why (e.g. evaluation pending)")


class PlanCreate(BaseModel):
    """A new version of an edition's allocation plan."""

    edition: str = Field(default="2024", pattern=r"^\d{4}$", description="Programme edition")
    budget: Money = Field(description="专项资金规模 (元): the fund the plan must fit")


class PlanItemRead(BaseModel):
    """A project's line in a plan."""

    project_id: str = Field(description="Project")
    application_id: str = Field(description="Its application at intake")
    unit_name: str = Field(description="申报单位")
    uscc: str = Field(description="统一社会信用代码")
    project_type: str = Field(description="项目类型")
    computed_amount: Money = Field(description="核定金额（元）")
    capped_amount: Money = Field(description="After the unit cap (元)")
    allocated_amount: Money = Field(description="拟支持金额（元） after scaling to the fund")


class PlanRead(BaseModel):
    """One version of an allocation plan."""

    id: str = Field(description="Plan version id")
    edition: str = Field(description="Programme edition")
    version: int = Field(description="1, 2, … (a republished plan is a new version)")
    status: str = Field(description="draft, published, final, superseded")
    budget: Money = Field(description="Fund size (元)")
    total: Money = Field(description="Sum of the allocated amounts (元)")
    scaling_factor: str = Field(description="Pro-rata factor applied to fit the fund (1: none)")
    previous_id: str | None = Field(description="The version it replaces")
    published_on: date | None = Field(description="公示开始日期")
    notice_ends_on: date | None = Field(description="公示截止日期 (working days, PRC holiday calendar)")
    finalised_at: datetime | None = Field(description="When it became final")
    items: list[PlanItemRead] = Field(description="Its projects")


class ObjectionCreate(BaseModel):
    """An objection against a project of a published plan (N4.4)."""

    project_id: str = Field(description="The project objected to")
    statement: str = Field(min_length=1, max_length=2000, description="异议内容")
    evidence: str | None = Field(default=None, max_length=500,
                                 description="证据: a document reference (e.g. an intake document URL) or its description")


class ObjectionResolve(BaseModel):
    """The city's resolution of an objection."""

    decision: Literal["upheld", "dismissed"] = Field(description="upheld 成立 / dismissed 不成立")
    resolution: str = Field(min_length=1, max_length=2000, description="处理意见")
    new_amount: Money | None = Field(default=None, description="Upheld: the project's new amount (元); "
                                                               "absent: the project leaves the plan")


class ObjectionRead(BaseModel):
    """An objection and its resolution."""

    id: str = Field(description="Objection id")
    plan_id: str = Field(description="The plan version objected to")
    project_id: str = Field(description="The project")
    filed_by: str = Field(description="Who")
    statement: str = Field(description="异议内容")
    evidence: str | None = Field(description="证据")
    filed_at: datetime = Field(description="When")
    status: str = Field(description="open, upheld, dismissed")
    resolution: str | None = Field(description="处理意见")
    new_plan_id: str | None = Field(description="Upheld: the new plan version that needs a new notice")


class InstructionRead(BaseModel):
    """A payment instruction to the treasury."""

    id: str = Field(description="Instruction id")
    end_to_end_id: str = Field(description="Unique end-to-end id the bank statement quotes")
    plan_id: str = Field(description="The final plan it pays")
    leg: Literal["treasury", "unit"] = Field(description="treasury: 市财政局 → 市商务局; unit: 市商务局 → the unit")
    project_id: str | None = Field(description="The project paid (unit leg)")
    payee_name: str = Field(description="账户户名")
    payee_bank: str = Field(description="开户银行")
    payee_account: str = Field(description="银行账号")
    amount: Money = Field(description="金额（元）")
    attempt: int = Field(description="1, or more for a retry")
    retry_of: str | None = Field(description="The failed instruction this one retries")
    status: str = Field(description="pending, paid, failed, returned")
    failure_reason: str | None = Field(description="Why it failed, from the bank statement")


class StatementResult(BaseModel):
    """How a bank statement was applied."""

    applied: int = Field(description="Lines recorded")
    errors: list[dict] = Field(description="Lines not applied: {line, error}")


class ClawbackCreate(BaseModel):
    """A recovery to demand (N3.2, N3.3)."""

    project_id: str = Field(description="The project paid")
    amount: Money = Field(description="金额（元） to recover")
    reason: str = Field(min_length=1, max_length=1000, description="原因")
    evidence: str = Field(default="", max_length=1000, description="证据")
    forged_materials: bool = Field(description="伪造材料或虚假发票: the unit is also debarred (N3.2)")


class RecoveryIn(BaseModel):
    """Money recovered, or a referral to the judicial authorities."""

    recovered: Money | None = Field(default=None, description="Amount recovered now (元)")
    referred: bool = Field(default=False, description="移交司法机关")


class ClawbackRead(BaseModel):
    """A clawback record."""

    id: str = Field(description="Clawback id")
    project_id: str = Field(description="The project")
    uscc: str = Field(description="统一社会信用代码")
    amount: Money = Field(description="To recover (元)")
    recovered: Money = Field(description="Recovered so far (元)")
    reason: str = Field(description="原因")
    evidence: str = Field(description="证据")
    forged_materials: bool = Field(description="Forged materials (debarred)")
    status: str = Field(description="demanded, partly_recovered, recovered, referred")


class ProjectRead(BaseModel):
    """A project as the city handles it."""

    id: str = Field(description="Project id")
    application_id: str = Field(description="Its application at intake")
    edition: str = Field(description="Programme edition")
    uscc: str = Field(description="统一社会信用代码")
    unit_name: str = Field(description="申报单位")
    project_type: str = Field(description="项目类型")
    computed_amount: Money = Field(description="核定金额（元） from the submission")
    auditor: str | None = Field(description="The third-party auditor assigned")
    audit_opinion: str | None = Field(description="pass, pass_with_adjustments, fail")
    audited_amount: Money | None = Field(description="Amount after the audit (元)")
    audit_trace: list | None = Field(description="The recomputation's trace, naming the disallowed lines")
    audit_note: str | None = Field(description="Notes of the audit and spot checks")


class AuditorAssign(BaseModel):
    """The auditor commissioned for a project."""

    auditor: str = Field(min_length=1, max_length=100, description="The auditor's user name")


class DisallowedLine(BaseModel):
    """An expense line or certification fee the auditor does not allow."""

    form: Literal["f3_expenses", "f5_certifications"] = Field(description="Which form")
    line_no: int = Field(ge=1, description="序号")
    reason: str = Field(min_length=1, max_length=500, description="理由")


class AuditOpinion(BaseModel):
    """A third-party audit opinion (N4.2)."""

    opinion: Literal["pass", "pass_with_adjustments", "fail"] = Field(description="审计意见")
    disallowed: list[DisallowedLine] = Field(default_factory=list, description="Lines not allowed")
    note: str = Field(default="", max_length=2000, description="说明")


class SpotCheckCreate(BaseModel):
    """A spot check to draw."""

    edition: str = Field(default="2024", pattern=r"^\d{4}$", description="Programme edition")
    size: int = Field(ge=1, le=10000, description="Projects to sample")
    seed: int = Field(ge=0, le=2**62, description="Seed of the draw: the same seed draws the same sample")


class SpotCheckRead(BaseModel):
    """A recorded spot check."""

    id: str = Field(description="Spot check id")
    edition: str = Field(description="Programme edition")
    size: int = Field(description="Sample size")
    seed: int = Field(description="Seed")
    project_ids: list[str] = Field(description="The sampled projects")
    drawn_by: str = Field(description="Who drew it")
    drawn_at: datetime = Field(description="When")


class SpotCheckFinding(BaseModel):
    """A spot check's finding on a sampled project."""

    project_id: str = Field(description="The sampled project")
    finding: str = Field(min_length=1, max_length=2000, description="抽查结果")
    new_amount: Money | None = Field(default=None, description="The corrected amount (元), if it changes")


class ExpertScoreIn(BaseModel):
    """An expert's scores by criterion."""

    scores: dict[str, int] = Field(min_length=1, description="Criterion → score (0–100)")
    conflict_of_interest: bool = Field(description="利益冲突声明: true excludes the expert")


class ExpertScoreRead(BaseModel):
    """Recorded scores."""

    id: str = Field(description="Score id")
    project_id: str = Field(description="The project")
    expert: str = Field(description="The expert")
    scores: dict[str, int] = Field(description="Criterion → score")
    scored_at: datetime = Field(description="When")
