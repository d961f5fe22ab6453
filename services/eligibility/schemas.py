"""Request and response models of the eligibility service."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from stdnum.cn import uscc as uscc_code

from common.batch import BatchItem, batch_items_field

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"  # GB 32100's alphabet: no I, O, S, V, Z
CreditKind = Literal["serious_dishonesty", "major_tax_violation", "dishonest_judgment_debtor", "customs_dishonesty",
                     "overdue_fiscal_funds"]


def checked_uscc(value: str) -> str:
    """A USCC whose check digit holds (a registry entry under a wrong code would never match anyone)."""
    try:
        return uscc_code.validate(value)
    except Exception as exc:  # noqa: BLE001 - stdnum's reason is the message
        raise ValueError(f"not a valid unified social credit code: {exc}") from None


class CheckRead(BaseModel):
    """One rule applied: which clause it enforces and what it found."""

    rule: str = Field(description="规则编号 / stable rule id, e.g. offshore.minimum")
    clause: str = Field(description="条款 / clause of POLICY.md, e.g. G2.1.2")
    outcome: Literal["pass", "fail", "review"] = Field(
        description="结果：pass 符合, fail 不符合 (ineligible), review 需人工审核 (an officer decides)")
    message_zh: str = Field(description="说明（中文），以所依据条款结尾")
    message_en: str = Field(description="Explanation (English), ending with the clause")
    details: dict[str, Any] = Field(default_factory=dict, description="依据数据 / the figures the rule looked at")


class EvaluationRead(BaseModel):
    """The outcome of evaluating one dossier."""

    id: str = Field(description="评审编号 / evaluation id")
    application_id: str | None = Field(description="申请编号, or null for a pre-check")
    edition: str = Field(description="年度 / programme edition")
    project_type: str = Field(description="项目类型")
    uscc: str | None = Field(default=None, description="申报单位统一社会信用代码")
    outcome: Literal["eligible", "ineligible", "needs_review"] = Field(description="符合 / 不符合 / 需人工审核")
    precheck: bool = Field(default=False, description="预审 / a pre-check (not a submitted application)")
    reference_date: date = Field(description="基准日 / the date registries and parameters were judged at (POLICY.md)")
    evaluated_at: datetime = Field(description="评审时间 / when")
    checks: list[CheckRead] = Field(description="审核项 / every check made, in order")


class CreditEntryIn(BaseModel):
    """A credit-list entry to import (N3.1)."""

    model_config = {"json_schema_extra": {"examples": [{
        "uscc": "91210214MA0Y2R7L33", "kind": "major_tax_violation", "source": "信用中国（辽宁大连）",
        "listed_on": "2023-03-01", "delisted_on": None}]}}

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码 (check digit validated)")
    kind: CreditKind = Field(description="失信类别：严重违法失信 serious_dishonesty, 重大税收违法 major_tax_violation, "
                                         "失信被执行人 dishonest_judgment_debtor, 海关失信 customs_dishonesty, "
                                         "拖欠应缴还财政性资金 overdue_fiscal_funds")
    source: str = Field(min_length=1, max_length=200, description="来源（如 信用中国（辽宁大连））")
    listed_on: date = Field(description="列入日期")
    delisted_on: date | None = Field(default=None, description="移出日期 (null: still listed)")

    _uscc = field_validator("uscc")(checked_uscc)

    @model_validator(mode="after")
    def _delisted_after_listed(self):
        if self.delisted_on is not None and self.delisted_on < self.listed_on:
            raise ValueError("delisted_on comes before listed_on")
        return self


class CreditEntryRead(BaseModel):
    """A credit-list entry."""

    id: str = Field(description="条目编号 / entry id")
    uscc: str = Field(description="统一社会信用代码")
    kind: str = Field(description="失信类别")
    source: str = Field(description="来源")
    listed_on: date = Field(description="列入日期")
    delisted_on: date | None = Field(default=None, description="移出日期")


class DebarmentIn(BaseModel):
    """A debarment to record (N3.2: three years for forged materials or false invoices)."""

    model_config = {"json_schema_extra": {"examples": [{
        "uscc": "91210214MA0Y2R7L33", "reason": "伪造材料", "source": "追缴记录 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "starts_on": "2026-01-05"}]}}

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码 (check digit validated)")
    reason: str = Field(min_length=1, max_length=500, description="原因（如 伪造材料、虚假发票）")
    source: str = Field(min_length=1, max_length=200, description="来源（如 追缴记录编号）")
    starts_on: date = Field(description="起始日期")
    ends_on: date | None = Field(default=None, description="截止日期（不含）; default: starts_on + the edition's years")

    _uscc = field_validator("uscc")(checked_uscc)

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.ends_on is not None and self.ends_on <= self.starts_on:
            raise ValueError("ends_on must come after starts_on")
        if not 1990 <= self.starts_on.year <= 2190:
            raise ValueError("starts_on lies outside the years 1990–2190")
        return self


class DebarmentRead(BaseModel):
    """A debarment."""

    id: str = Field(description="记录编号 / debarment id")
    uscc: str = Field(description="统一社会信用代码")
    reason: str = Field(description="原因")
    source: str = Field(description="来源")
    starts_on: date = Field(description="起始日期")
    ends_on: date = Field(description="截止日期（不含）")


class RecognisedBaseIn(BaseModel):
    """A recognised national TCM service export base (G5.1.1)."""

    model_config = {"json_schema_extra": {"examples": [{
        "uscc": "91210211MA10H8N2XW", "base_name": "大连中医药服务出口基地", "recognised_on": "2022-12-01"}]}}

    uscc: str = Field(pattern=USCC_PATTERN, description="统一社会信用代码 (check digit validated)")
    base_name: str = Field(min_length=1, max_length=200, description="基地名称")
    recognised_on: date | None = Field(default=None, description="认定日期")
    construction_supported_in: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,16}$",
        description="已获建设支持的年度（本系统之前）/ edition whose construction support the base already received "
                    "(G5.1.3: then not a first application)")

    _uscc = field_validator("uscc")(checked_uscc)


class RecognisedBaseRead(BaseModel):
    """A recognised base."""

    id: str = Field(description="条目编号 / entry id")
    uscc: str = Field(description="统一社会信用代码")
    base_name: str = Field(description="基地名称")
    recognised_on: date | None = Field(default=None, description="认定日期")
    construction_supported_in: str | None = Field(default=None, description="已获建设支持的年度")


class ImportResult(BaseModel):
    """How a bulk import went (all or nothing)."""

    imported: int = Field(description="导入条数 / entries read")
    created: int = Field(default=0, description="新增 / entries added")
    updated: int = Field(default=0, description="更新 / entries that existed and changed")


class ClaimedInvoiceRead(BaseModel):
    """An invoice number a submitted application claims (N3.3)."""

    edition: str = Field(description="年度")
    application_id: str = Field(description="申请编号")
    uscc: str = Field(description="申报单位统一社会信用代码")
    project_type: str | None = Field(default=None, description="项目类型")
    invoice_number: str = Field(description="发票号码（如申报）")
    invoice_key: str = Field(description="比对用发票号码（去空格、大写）")
    line_no: int = Field(description="附件3 序号")


class UnitCreditEntry(CreditEntryRead):
    """A credit-list entry of the unit, and whether it counts on the date asked (N3.1)."""

    counts: bool = Field(description="是否计入（列入期间与近五年重叠）")


class UnitDebarment(DebarmentRead):
    """A debarment of the unit, and whether it is in force on the date asked (N3.2)."""

    active: bool = Field(description="是否在取消申报资格期内")


class UnitApplication(BaseModel):
    """An application of the unit whose claims the registry keeps."""

    edition: str = Field(description="年度")
    application_id: str = Field(description="申请编号")
    project_type: str = Field(description="项目类型")


class UnitRegistryRead(BaseModel):
    """Everything the registries hold on one unit, judged on a date."""

    uscc: str = Field(description="统一社会信用代码")
    on: date = Field(description="判断日期 / the date asked")
    since: date = Field(description="信用记录回溯起点 / start of the look-back years (N3.1)")
    on_credit_list: bool = Field(description="近五年是否在失信联合惩戒名单 (N3.1)")
    debarred: bool = Field(description="是否在取消申报资格期内 (N3.2)")
    credit_entries: list[UnitCreditEntry] = Field(description="失信名单条目")
    debarments: list[UnitDebarment] = Field(description="取消申报资格记录")
    recognised_base: RecognisedBaseRead | None = Field(description="国家中医药服务出口基地认定 (G5.1.1)")
    claimed_invoice_count: int = Field(description="已申报发票数 (N3.3)")
    applications: list[UnitApplication] = Field(description="已评审的申请 (N3.3, G5.1.3)")


class ParameterRead(BaseModel):
    """One parameter of an edition with its clause and the date it took effect."""

    path: str = Field(description="参数名 / dotted name, e.g. certification.max_items")
    description: str = Field(description="说明（中文 / English）")
    clause: str = Field(description="条款 / clause of POLICY.md")
    unit: str = Field(description="单位：money_cny, money_usd, rate, decimal, count, date, date_range, list, map, flag, "
                                  "text")
    reference: str = Field(default="", description="出处 / where the figure comes from, when noted")
    effective_from: date = Field(description="生效日期 / date the value takes effect")
    value: Any = Field(description="取值 (amounts and rates as strings, dates as ISO dates)")


class EditionRead(BaseModel):
    """An edition of the programme."""

    edition: str = Field(description="年度 / edition")
    title: str = Field(description="名称")
    notice: dict[str, Any] = Field(default_factory=dict, description="通知 / the notice it implements")
    project_types: dict[str, str] = Field(description="项目类型及名称")
    parameter_count: int = Field(description="参数个数")


class EvaluationBatchIn(BaseModel):
    """Dossiers to evaluate in one request (re-evaluating an edition), each as POST /evaluations takes it."""

    items: list[dict[str, Any]] = batch_items_field("Dossier")


class EvaluationBatchRead(BaseModel):
    """Each dossier's evaluation, or the problem that refused it, in the request's order."""

    items: list[BatchItem[EvaluationRead]]
