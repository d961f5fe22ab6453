"""Request and response models of the disbursement service."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from common.money import Money

ProjectType = Literal["platform_construction", "platform_operation", "certification", "brand", "interest_subsidy",
                      "tcm_construction", "tcm_operation"]
AuditOpinionValue = Literal["pass", "pass_with_adjustments", "fail"]
SpotCheckOutcome = Literal["confirmed", "adjusted", "failed"]
PlanStatus = Literal["draft", "published", "final", "superseded"]
ClawbackGround = Literal["forged_materials", "false_invoices", "duplicate_application", "fraud"]
def edition_field():
    """The edition a request is about."""
    return Field(default="2024", pattern=r"^\d{4}$", description="Programme edition (年度)")


# --- projects -------------------------------------------------------------------------------------------------

class ComputedAmountRead(BaseModel):
    """An application's computed amount, as the city sees it before audit."""

    application_id: str = Field(description="The application")
    applicant_id: str = Field(description="Its unit")
    project_type: str = Field(description="项目类型")
    status: str = Field(description="The application's status at intake")
    outcome: str | None = Field(description="The eligibility outcome (eligible / ineligible / needs_review)")
    amount: Money | None = Field(description="Computed amount (元); null while the evaluation is pending")


class SkippedApplication(BaseModel):
    """A passed application not taken over yet."""

    application_id: str = Field(description="The application at intake")
    reason: str = Field(description="Why not yet (e.g. its evaluation is pending)")


class ImportResult(BaseModel):
    """Projects taken over from the districts (N4.1 → N4.2)."""

    edition: str = Field(description="Programme edition")
    imported: int = Field(description="New projects")
    already_present: int = Field(description="Projects imported before")
    skipped: list[SkippedApplication] = Field(description="Passed applications not taken yet, and why")


class DisallowedLine(BaseModel):
    """An expense line or certification fee not allowed (审计核减), with the reason."""

    form: Literal["f3_expenses", "f5_certifications"] = Field(
        description="f3_expenses 附件3 费用明细 / f5_certifications 附件5 认证项目")
    line_no: int = Field(ge=1, description="序号 of the line in that form")
    reason: str = Field(min_length=1, max_length=500, description="核减理由")


class ProjectRead(BaseModel):
    """A project as the city handles it."""

    id: str = Field(description="Project id")
    application_id: str = Field(description="Its application at intake")
    edition: str = Field(description="Programme edition")
    uscc: str = Field(description="统一社会信用代码")
    unit_name: str = Field(description="申报单位")
    district_code: str = Field(description="所属区市县代码")
    project_type: str = Field(description="项目类型")
    computed_amount: Money = Field(description="申报测算金额（元）, computed at submission")
    eligibility_outcome: str | None = Field(description="资格审查结论 at submission (eligible / needs_review …)")
    status: Literal["active", "removed"] = Field(description="active, or removed after an upheld objection (N4.4)")
    removed_reason: str | None = Field(description="Why it was removed")
    auditor: str | None = Field(description="第三方审计机构 commissioned (its user name)")
    auditor_assigned_at: datetime | None = Field(description="When the auditor was commissioned")
    audit_opinion: AuditOpinionValue | None = Field(
        description="审计意见: pass 通过, pass_with_adjustments 调整后通过, fail 不通过")
    audit_disallowed: list[DisallowedLine] | None = Field(description="核减明细: lines not allowed, with reasons")
    audited_amount: Money | None = Field(description="审计核定金额（元）, recomputed without the disallowed lines")
    audit_trace: list[dict[str, Any]] | None = Field(description="Calculation's trace, naming the disallowed lines")
    audit_note: str | None = Field(description="审计说明")
    audited_by: str | None = Field(description="Who recorded the opinion")
    audited_at: datetime | None = Field(description="When")
    spot_check_outcome: SpotCheckOutcome | None = Field(description="抽查结论 (N4.3): confirmed, adjusted, failed")
    adjusted_amount: Money | None = Field(description="Amount set by an upheld objection (元)")
    plan_amount: Money | None = Field(description="What a new plan version starts from (元); null when it stays out")
    plan_standing: str = Field(description="Basis of plan_amount (audit, spot_check, objection), or why it stays out")


class AuditorAssign(BaseModel):
    """The auditor commissioned for a project (N4.2)."""

    model_config = {"json_schema_extra": {"examples": [{"auditor": "dalian-audit-firm"}]}}

    auditor: str = Field(min_length=1, max_length=100, description="第三方审计机构: the auditor's user name")


class AuditOpinionIn(BaseModel):
    """A third-party audit opinion (N4.2)."""

    model_config = {"json_schema_extra": {"examples": [{
        "opinion": "pass_with_adjustments", "note": "一项发票抬头与申报单位不符",
        "disallowed": [{"form": "f3_expenses", "line_no": 3, "reason": "发票抬头与申报单位不符"}]}]}}

    opinion: AuditOpinionValue = Field(description="审计意见: pass 通过, pass_with_adjustments 调整后通过, fail 不通过")
    disallowed: list[DisallowedLine] = Field(default_factory=list, max_length=500,
                                             description="核减明细: required with pass_with_adjustments only")
    note: str = Field(default="", max_length=2000, description="审计说明 (required when the opinion is fail)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.opinion == "pass_with_adjustments" and not self.disallowed:
            raise ValueError("an opinion with adjustments names the disallowed lines")
        if self.opinion != "pass_with_adjustments" and self.disallowed:
            raise ValueError(f"an opinion '{self.opinion}' disallows no lines; use pass_with_adjustments")
        if self.opinion == "fail" and not self.note.strip():
            raise ValueError("a failing opinion says why in its note")
        keys = [(d.form, d.line_no) for d in self.disallowed]
        if len(set(keys)) != len(keys):
            raise ValueError("a line is disallowed once")
        return self


class ExpertScoreIn(BaseModel):
    """An expert's scores by criterion, or the expert's declared conflict of interest (N4.2)."""

    model_config = {"json_schema_extra": {"examples": [{
        "conflict_of_interest": False, "scores": {"innovation": 85, "demonstration": 78}, "comment": "平台服务能力突出"}]}}

    conflict_of_interest: bool = Field(description="利益冲突声明: true records the conflict and excludes the expert")
    conflict_statement: str | None = Field(default=None, max_length=1000, description="冲突说明 (with a conflict)")
    scores: dict[str, int] = Field(default_factory=dict, max_length=50,
                                   description="评审指标 → 分数 (0–100); required without a conflict")
    comment: str | None = Field(default=None, max_length=2000, description="评审意见")

    @model_validator(mode="after")
    def _consistent(self):
        if self.conflict_of_interest and self.scores:
            raise ValueError("an expert with a conflict of interest gives no scores")
        if not self.conflict_of_interest and not self.scores:
            raise ValueError("scores are required (criterion → 0–100)")
        for criterion, value in self.scores.items():
            if not criterion.strip() or len(criterion) > 100:
                raise ValueError("a criterion has a name of 1–100 characters")
            if not 0 <= value <= 100:
                raise ValueError(f"score of {criterion} must be 0–100")
        return self


class ExpertScoreRead(BaseModel):
    """An expert's recorded scores or conflict declaration."""

    id: str = Field(description="Record id")
    project_id: str = Field(description="The project")
    expert: str = Field(description="The expert")
    conflict_of_interest: bool = Field(description="利益冲突: the expert is excluded from this project")
    conflict_statement: str | None = Field(description="冲突说明")
    scores: dict[str, int] = Field(description="评审指标 → 分数")
    comment: str | None = Field(description="评审意见")
    scored_at: datetime = Field(description="When")


class ExpertReviewRead(BaseModel):
    """A project's expert review: every record, and the average per criterion of the experts not excluded."""

    project_id: str = Field(description="The project")
    records: list[ExpertScoreRead] = Field(description="Scores and conflict declarations")
    excluded_experts: list[str] = Field(description="Experts excluded by a declared conflict of interest")
    averages: dict[str, str] = Field(description="评审指标 → 平均分 (two places) over the experts who scored")


# --- spot checks ----------------------------------------------------------------------------------------------

class SpotCheckCreate(BaseModel):
    """A spot check to draw (抽查, N4.3)."""

    model_config = {"json_schema_extra": {"examples": [{"edition": "2024", "size": 3, "seed": 20251222}]}}

    edition: str = edition_field()
    size: int | None = Field(default=None, ge=1, le=10000,
                             description="样本量; default: the edition's review.spot_check_default_size")
    seed: int | None = Field(default=None, ge=0, le=2**62,
                             description="随机种子: the same seed over the same population draws the same sample; "
                                         "default: drawn at random and recorded")


class SpotCheckFindingIn(BaseModel):
    """The city's finding on a sampled project; it may change the audited result."""

    model_config = {"json_schema_extra": {"examples": [{
        "project_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "outcome": "confirmed", "finding": "抽查核实：原件与复印件一致",
        "disallowed": []}]}}

    project_id: str = Field(description="The sampled project")
    outcome: SpotCheckOutcome = Field(description="confirmed 核实无误, adjusted 核减 (more lines disallowed), "
                                                  "failed 不通过 (the project leaves the plan)")
    finding: str = Field(min_length=1, max_length=2000, description="抽查意见")
    disallowed: list[DisallowedLine] = Field(default_factory=list, max_length=500,
                                             description="Lines disallowed in addition to the auditor's (adjusted)")

    @model_validator(mode="after")
    def _consistent(self):
        if (self.outcome == "adjusted") != bool(self.disallowed):
            raise ValueError("an adjusted finding names the lines it disallows; other outcomes name none")
        return self


class SpotCheckFindingRead(BaseModel):
    """A recorded finding."""

    project_id: str = Field(description="The project")
    outcome: SpotCheckOutcome = Field(description="confirmed, adjusted, failed")
    finding: str = Field(description="抽查意见")
    disallowed: list[DisallowedLine] = Field(description="Lines it disallowed")
    amount_before: Money | None = Field(description="Audited amount before (元)")
    amount_after: Money | None = Field(description="Audited amount after (元)")
    recorded_by: str = Field(description="Who")
    recorded_at: datetime = Field(description="When")


class SpotCheckRead(BaseModel):
    """A recorded spot check: reproducible from its seed, population and method."""

    id: str = Field(description="Spot check id")
    edition: str = Field(description="Programme edition")
    size: int = Field(description="样本量")
    seed: int = Field(description="随机种子")
    method: str = Field(description="How the sample was drawn from the population (to reproduce it)")
    population: list[str] = Field(description="The audited projects it was drawn from, in the order used")
    project_ids: list[str] = Field(description="The sampled projects")
    drawn_by: str = Field(description="Who drew it")
    drawn_at: datetime = Field(description="When")
    findings: list[SpotCheckFindingRead] = Field(description="Findings recorded so far")


# --- plans ----------------------------------------------------------------------------------------------------

class PlanCreate(BaseModel):
    """A new version of an edition's allocation plan (N4.3)."""

    model_config = {"json_schema_extra": {"examples": [{"edition": "2024", "budget": "1500000.00"}]}}

    edition: str = edition_field()
    budget: Money = Field(description="专项资金规模 (元): the fund the plan must fit")
    type_budgets: dict[ProjectType, Money] | None = Field(
        default=None, description="分类资金规模 (元) per project type; when set, each type is scaled to its own")

    @model_validator(mode="after")
    def _within_budget(self):
        if self.budget <= 0:
            raise ValueError("the budget is a positive amount")
        if self.type_budgets and sum(self.type_budgets.values()) > self.budget:
            raise ValueError("the type budgets add up to more than the budget")
        return self


class PlanItemRead(BaseModel):
    """A project's line in a plan."""

    project_id: str = Field(description="Project")
    application_id: str = Field(description="Its application at intake")
    unit_name: str = Field(description="申报单位")
    uscc: str = Field(description="统一社会信用代码")
    district_code: str = Field(description="所属区市县代码")
    project_type: str = Field(description="项目类型")
    basis: str = Field(description="Where computed_amount comes from: audit, spot_check, objection")
    computed_amount: Money = Field(description="审计核定金额（元） the plan started from")
    capped_amount: Money = Field(description="单位限额后金额（元） after the unit cap (G1.3.3, G5.2)")
    allocated_amount: Money = Field(description="拟支持金额（元） after scaling to the fund (N4.3)")


class LeftOutProject(BaseModel):
    """A project of the edition not in this version, and why."""

    project_id: str = Field(description="Project")
    application_id: str = Field(description="Its application")
    unit_name: str = Field(description="申报单位")
    reason: str = Field(description="Why it is not in the plan")


class PlanHead(BaseModel):
    """One version of an allocation plan without its lines (POST /plans with `Prefer: return=minimal`)."""

    id: str = Field(description="Plan version id")
    edition: str = Field(description="Programme edition")
    version: int = Field(description="1, 2, … (a change is a new version; an old one is never edited)")
    status: PlanStatus = Field(description="draft 草稿, published 公示中, final 最终, superseded 已被新版本取代")
    budget: Money = Field(description="专项资金规模（元）")
    type_budgets: dict[str, Money] | None = Field(description="分类资金规模（元）, if set")
    total: Money = Field(description="拟支持金额合计（元）")
    scaling_factor: str = Field(description="统筹调整系数 applied to fit the fund (1: none; 'per type')")
    unit_caps_trace: list[dict[str, Any]] = Field(description="Calculation's trace of the unit caps that bound")
    scaling_trace: list[dict[str, Any]] = Field(description="Calculation's trace of the scaling to the fund")
    left_out: list[LeftOutProject] = Field(description="Projects of the edition not in it, and why")
    previous_id: str | None = Field(description="The version it replaces")
    superseded_by: str | None = Field(description="The version that replaced it")
    published_on: date | None = Field(description="公示开始日期")
    notice_working_days: int | None = Field(description="公示期（工作日）")
    notice_ends_on: date | None = Field(description="公示截止日期 (last working day of the notice, included)")
    finalised_at: datetime | None = Field(description="When it became final")
    created_at: datetime = Field(description="When this version was made")
    item_count: int = Field(description="How many projects it allocates (its lines: GET /plans/{plan_id}/items)")


class PlanRead(PlanHead):
    """One version of an allocation plan with its lines."""

    items: list[PlanItemRead] = Field(description="Its projects, by unit name")


class PlanSummary(BaseModel):
    """A plan version without its items."""

    id: str = Field(description="Plan version id")
    edition: str = Field(description="Programme edition")
    version: int = Field(description="Version number")
    status: PlanStatus = Field(description="draft, published, final, superseded")
    budget: Money = Field(description="专项资金规模（元）")
    total: Money = Field(description="拟支持金额合计（元）")
    previous_id: str | None = Field(description="The version it replaces")
    superseded_by: str | None = Field(description="The version that replaced it")
    published_on: date | None = Field(description="公示开始日期")
    notice_ends_on: date | None = Field(description="公示截止日期")
    finalised_at: datetime | None = Field(description="When it became final")
    created_at: datetime = Field(description="When this version was made")


# --- notice and objections ------------------------------------------------------------------------------------

class ObjectionCreate(BaseModel):
    """An objection against a project of a published plan (N4.4)."""

    model_config = {"json_schema_extra": {"examples": [{
        "project_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "statement": "该单位收汇金额与合同执行额不一致",
        "evidence": "外汇收入申报单复印件"}]}}

    project_id: str = Field(description="The project objected to")
    statement: str = Field(min_length=1, max_length=2000, description="异议内容")
    evidence: str | None = Field(default=None, max_length=500,
                                 description="证据: a document reference (e.g. an intake document URL) or a description")


class ObjectionResolve(BaseModel):
    """The city's resolution of an objection (N4.4)."""

    model_config = {"json_schema_extra": {"examples": [{"decision": "dismissed", "resolution": "经核查，异议不成立"}]}}

    decision: Literal["upheld", "dismissed"] = Field(description="upheld 异议成立 / dismissed 异议不成立")
    resolution: str = Field(min_length=1, max_length=2000, description="处理意见")
    effect: Literal["remove", "change_amount"] | None = Field(
        default=None, description="Upheld: remove 取消支持 the project, or change_amount 调整金额")
    new_amount: Money | None = Field(default=None, description="With change_amount: the project's new amount (元), "
                                                               "before unit caps and scaling")

    @model_validator(mode="after")
    def _consistent(self):
        if self.decision == "dismissed" and (self.effect or self.new_amount is not None):
            raise ValueError("a dismissed objection changes nothing: no effect, no new_amount")
        if self.decision == "upheld" and self.effect is None:
            raise ValueError("an upheld objection says its effect: remove or change_amount")
        if (self.effect == "change_amount") != (self.new_amount is not None):
            raise ValueError("new_amount goes with change_amount, and only with it")
        if self.new_amount is not None and self.new_amount <= 0:
            raise ValueError("new_amount is positive; to take the project out use effect remove")
        return self


class ObjectionRead(BaseModel):
    """An objection and its resolution."""

    id: str = Field(description="Objection id")
    plan_id: str = Field(description="The plan version objected to")
    project_id: str = Field(description="The project")
    filed_by: str = Field(description="异议人 (user)")
    filed_by_role: str = Field(description="Their role")
    filed_by_unit: str | None = Field(description="Their unit's USCC, for an applicant")
    statement: str = Field(description="异议内容")
    evidence: str | None = Field(description="证据")
    filed_at: datetime = Field(description="When")
    status: Literal["open", "upheld", "dismissed"] = Field(description="open 待处理, upheld 成立, dismissed 不成立")
    resolution: str | None = Field(description="处理意见")
    effect: str | None = Field(description="remove or change_amount (upheld)")
    new_amount: Money | None = Field(description="New amount (元), with change_amount")
    resolved_by: str | None = Field(description="Who resolved it")
    resolved_at: datetime | None = Field(description="When")
    new_plan_id: str | None = Field(description="Upheld: the new plan version, which needs a new notice")


# --- payments -------------------------------------------------------------------------------------------------

class InstructionRead(BaseModel):
    """A payment instruction to the treasury (国库集中支付, N4.5)."""

    id: str = Field(description="Instruction id")
    end_to_end_id: str = Field(description="Unique end-to-end id the bank statement quotes")
    plan_id: str = Field(description="The final plan it pays")
    leg: Literal["treasury", "unit"] = Field(description="treasury: 市财政局 → 市商务局; unit: 市商务局 → the unit")
    project_id: str | None = Field(description="The project paid (unit leg)")
    payee_name: str = Field(description="收款账户户名")
    payee_bank: str = Field(description="开户银行")
    payee_account: str = Field(description="银行账号")
    amount: Money = Field(description="金额（元）")
    attempt: int = Field(description="1, or more for a retry")
    retry_of: str | None = Field(description="The failed instruction this one retries")
    status: Literal["pending", "paid", "failed", "returned"] = Field(
        description="pending 待支付, paid 已支付, failed 支付失败, returned 退回")
    failure_reason: str | None = Field(description="Why it failed or came back, from the bank statement")
    statement_id: str | None = Field(description="The bank statement that last settled it")
    created_at: datetime = Field(description="When it was created")
    settled_at: datetime | None = Field(description="When its result was recorded")


class StatementLineError(BaseModel):
    """A statement line that was not applied."""

    line: int = Field(description="Line number in the file (the header is line 1)")
    end_to_end_id: str | None = Field(description="The id on that line")
    error: str = Field(description="Why it was not applied")


class StatementResult(BaseModel):
    """How a bank statement was applied."""

    id: str = Field(description="Statement record id")
    sha256: str = Field(description="SHA-256 of the file")
    lines: int = Field(description="Data lines read")
    applied: int = Field(description="Lines that changed a payment's state")
    unchanged: int = Field(description="Lines repeating a state already recorded")
    errors: list[StatementLineError] = Field(description="Lines not applied, and why (the first 1,000: the job's "
                                                         "result file has every line's outcome)")
    received_by: str = Field(description="Who uploaded it")
    received_at: datetime = Field(description="When")


class ReconciliationAmounts(BaseModel):
    """Amounts of a plan or unit by payment state (元); planned = paid + pending + failed + not_instructed."""

    planned: Money = Field(description="拟支持金额")
    paid: Money = Field(description="已支付")
    pending: Money = Field(description="支付中")
    failed: Money = Field(description="支付失败或退回, not yet paid again")
    not_instructed: Money = Field(description="尚未生成支付指令")


class UnitReconciliation(ReconciliationAmounts):
    """One unit's line of the reconciliation."""

    uscc: str = Field(description="统一社会信用代码")
    unit_name: str = Field(description="申报单位")
    balanced: bool = Field(description="planned = paid + pending + failed + not_instructed, to the fen")


class TreasuryLeg(BaseModel):
    """The finance bureau → commerce bureau leg of a plan."""

    amount: Money = Field(description="金额（元）: the plan total")
    status: str = Field(description="State of its latest attempt")
    end_to_end_id: str = Field(description="End-to-end id of its latest attempt")


class ReconciliationRead(BaseModel):
    """A plan's payments reconciled to the fen, per unit and in total (N4.5)."""

    plan_id: str = Field(description="The plan")
    edition: str = Field(description="Programme edition")
    version: int = Field(description="Plan version")
    plan_total: Money = Field(description="拟支持金额合计（元）")
    treasury: TreasuryLeg | None = Field(description="市财政局 → 市商务局, once instructed")
    total: ReconciliationAmounts = Field(description="All units together")
    balanced: bool = Field(description="plan_total = paid + pending + failed + not_instructed, and every unit balances")
    units: list[UnitReconciliation] = Field(description="Per unit, by USCC")


# --- clawbacks ------------------------------------------------------------------------------------------------

class ClawbackCreate(BaseModel):
    """A recovery to demand after payment (追缴, N3.2, N3.3)."""

    model_config = {"json_schema_extra": {"examples": [{
        "project_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "amount": "50000.00", "ground": "false_invoices",
        "reason": "发票经税务机关核实为虚开", "evidence": "税务稽查通知书"}]}}

    project_id: str = Field(description="The project paid")
    amount: Money = Field(description="追缴金额（元）, at most what was paid for the project")
    ground: ClawbackGround = Field(description="forged_materials 伪造材料, false_invoices 虚假发票 (both N3.2: the unit "
                                               "is also debarred), duplicate_application 重复申报, fraud 骗取资金 (N3.3)")
    reason: str = Field(min_length=1, max_length=1000, description="追缴原因")
    evidence: str = Field(default="", max_length=1000, description="证据")

    @model_validator(mode="after")
    def _positive(self):
        if self.amount <= 0:
            raise ValueError("the amount to recover is positive")
        return self


class RecoveryIn(BaseModel):
    """Money received back."""

    model_config = {"json_schema_extra": {"examples": [{
        "amount": "50000.00", "received_on": "2026-03-02", "reference": "缴款书 2102-0001"}]}}

    amount: Money = Field(description="本次追回金额（元）")
    received_on: date | None = Field(default=None, description="到账日期; default: today")
    reference: str = Field(default="", max_length=200, description="缴款凭证号")

    @model_validator(mode="after")
    def _positive(self):
        if self.amount <= 0:
            raise ValueError("a recovery is a positive amount")
        return self


class ReferralIn(BaseModel):
    """A referral to the judicial authorities (移交司法机关, N3.3)."""

    note: str = Field(min_length=1, max_length=2000, description="移送说明")


class RecoveryRead(BaseModel):
    """A recorded recovery."""

    id: str = Field(description="Recovery id")
    amount: Money = Field(description="追回金额（元）")
    received_on: date = Field(description="到账日期")
    reference: str = Field(description="缴款凭证号")
    recorded_by: str = Field(description="Who")
    recorded_at: datetime = Field(description="When")


class ClawbackRead(BaseModel):
    """A clawback record."""

    id: str = Field(description="Clawback id")
    project_id: str = Field(description="The project")
    uscc: str = Field(description="统一社会信用代码")
    amount: Money = Field(description="追缴金额（元）")
    recovered: Money = Field(description="已追回（元）")
    outstanding: Money = Field(description="未追回（元）")
    ground: ClawbackGround = Field(description="追缴事由")
    reason: str = Field(description="追缴原因")
    evidence: str = Field(description="证据")
    status: Literal["demanded", "partly_recovered", "recovered", "referred"] = Field(
        description="demanded 已下达追缴, partly_recovered 部分追回, recovered 全部追回, referred 移交司法机关")
    debarment_id: str | None = Field(description="The debarment recorded in eligibility's registry (N3.2)")
    debarred_until: date | None = Field(description="不得申报截止日期 (N3.2)")
    referral_note: str | None = Field(description="移送说明")
    referred_at: datetime | None = Field(description="When it was referred")
    demanded_by: str = Field(description="Who demanded it")
    created_at: datetime = Field(description="When")
    recoveries: list[RecoveryRead] = Field(description="Money received back")
