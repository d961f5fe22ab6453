"""Request and response models of the calculation service."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, model_validator

from common.batch import BatchItem, batch_items_field
from common.money import MONEY_JSON_SCHEMA, Money

from .dossier import Disallowed


AMOUNT_PATTERN = r"^\d{1,16}(\.\d{1,2})?$"  # zero or more 元, at most two places


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("an amount here is zero or more")
    return value


Amount = Annotated[Money, AfterValidator(_not_negative),
                   WithJsonSchema({**MONEY_JSON_SCHEMA, "pattern": AMOUNT_PATTERN})]
"""An amount in 元, zero or more: a decimal string with at most two places."""
MAX_PLAN_ITEMS = 250_000  # a plan of every project of an edition (100,000 measured in bench/plan_bench.py), with room
Key = Annotated[str, Field(min_length=1, max_length=64, description="调用方的项目编号 / the caller's id of the project")]


class TraceStep(BaseModel):
    """One step of a computation."""

    step: str = Field(description="步骤 / what was computed (eligible base, rate, cap, unit cap, rounding, amount …)")
    clause: str = Field(description="条款 / clause of POLICY.md applied")
    inputs: dict[str, Any] = Field(description="输入 / the figures it started from (amounts as strings)")
    parameter: dict[str, Any] = Field(description="参数 / the edition parameter(s) used: name, value, clause, "
                                                  "effective_from (one, or several by role)")
    result: Any = Field(description="结果 / what came out (amounts as strings)")
    note: str = Field(description="说明 / why, in words")


class ComputationRead(BaseModel):
    """An amount and the trace that explains it."""

    id: str = Field(description="计算编号 / computation id")
    application_id: str | None = Field(description="申请编号, or null for a pre-check")
    edition: str = Field(description="年度 / programme edition")
    project_type: str = Field(description="项目类型")
    uscc: str | None = Field(default=None, description="申报单位统一社会信用代码")
    amount: Money = Field(description="核定金额（元）, rounded down to the fen")
    currency: str = Field(default="CNY", description="币种：人民币 (always CNY)")
    reference_date: date = Field(description="基准日 / parameters are those in effect on this date")
    disallowed: list[Disallowed] = Field(default_factory=list, description="审计核减的行 (N4.2)")
    warnings: list[str] = Field(default_factory=list, description="提示 / what the caller should know (a line named "
                                                                  "but absent, a currency without a rate)")
    trace: list[TraceStep] = Field(description="计算过程 / each step with its inputs, parameter and clause")


class RecomputeIn(BaseModel):
    """What to leave out when an application's amount is computed from its dossier at intake."""

    disallowed: list[Disallowed] = Field(default_factory=list, max_length=5000,
                                         description="审计核减的行 (N4.2): recomputed without them")


class CapItem(BaseModel):
    """One project's amount, for the unit caps."""

    key: Key
    uscc: str = Field(min_length=1, max_length=40, description="统一社会信用代码 of its unit")
    project_type: str = Field(max_length=40, description="项目类型")
    amount: Amount = Field(description="计算金额（元）/ computed amount")


class UnitCapsIn(BaseModel):
    """Projects of an edition to put under the per-unit caps."""

    edition: str | None = Field(default=None, max_length=32, description="年度; default: the latest edition")
    items: list[CapItem] = Field(max_length=MAX_PLAN_ITEMS, description="项目及其计算金额 / projects with their amounts")


class CappedItem(CapItem):
    """A project after the unit caps."""

    capped_amount: Money = Field(description="单位合计上限后金额（元）/ amount after the unit cap")


class UnitCapsRead(BaseModel):
    """Every project after the unit caps, and a trace step per unit and cap."""

    edition: str = Field(description="年度")
    items: list[CappedItem] = Field(description="同输入顺序 / same order as given")
    trace: list[TraceStep] = Field(description="每个单位每个合计上限一步 / one step per unit and cap group")


class ScaleItem(BaseModel):
    """One project's amount, for budget scaling."""

    key: Key
    amount: Amount = Field(description="调整前金额（元）/ amount before scaling")
    project_type: str | None = Field(default=None, max_length=40, description="项目类型 (for per-type budgets)")


class BudgetScalingIn(BaseModel):
    """A fund size and the amounts to fit into it (统筹调整, N4.3)."""

    budget: Amount = Field(description="资金规模（元）/ fund size")
    items: list[ScaleItem] = Field(max_length=MAX_PLAN_ITEMS, description="项目及金额 / projects with their amounts")
    type_budgets: dict[Annotated[str, Field(max_length=40)], Amount] | None = Field(
        default=None, description="分类型资金规模（元）/ budget per project type; the other types share what is left")


class ScaledItem(ScaleItem):
    """A project after scaling."""

    allocated: Money = Field(description="调整后金额（元）/ amount after scaling")


class BudgetScalingRead(BaseModel):
    """The scaled plan: sums exactly to the budget when the amounts exceeded it."""

    factor: str = Field(description="调整系数 / pro-rata factor (12 places; 1 when under budget; `per type` with "
                                    "per-type budgets)")
    factors: dict[str, str] = Field(default_factory=dict, description="各组调整系数 / factor per budget group")
    total_requested: Money = Field(description="调整前合计（元）")
    total_allocated: Money = Field(description="调整后合计（元）")
    items: list[ScaledItem] = Field(description="同输入顺序 / same order as given")
    trace: list[TraceStep] = Field(description="调整过程 / how the scaling was done")


class ComputationBatchIn(BaseModel):
    """Dossiers to price in one request (re-pricing an edition), each as POST /computations takes it."""

    items: list[dict[str, Any]] = batch_items_field("Dossier")


class ComputationBatchRead(BaseModel):
    """Each dossier's computation, or the problem that refused it, in the request's order."""

    items: list[BatchItem[ComputationRead]]


AmountText = Annotated[str, Field(pattern=AMOUNT_PATTERN, examples=["123456.78"])]
"""An amount in 元 as a column holds it: a decimal string with at most two places, checked without a Decimal."""


class AllocationIn(BaseModel):
    """An edition's projects as columns (position i of every list is one project), to put under the unit caps and
    then scale to the fund in one call (N4.3); what disbursement's allocation plan sends."""

    model_config = {"json_schema_extra": {"examples": [{
        "edition": "2024", "budget": "250000.00", "type_budgets": None, "keys": ["p1", "p2", "p3"],
        "usccs": ["91210200MA0000001X", "91210200MA0000001X", "91210200MA0000002X"],
        "project_types": ["platform_construction", "platform_operation", "brand"],
        "amounts": ["250000.00", "100000.00", "80000.00"]}]}}

    edition: str | None = Field(default=None, max_length=32, description="年度; default: the latest edition")
    budget: Amount = Field(description="资金规模（元）/ fund size")
    type_budgets: dict[Annotated[str, Field(max_length=40)], Amount] | None = Field(
        default=None, description="分类型资金规模（元）/ budget per project type; the other types share what is left")
    keys: list[Key] = Field(max_length=MAX_PLAN_ITEMS, description="调用方的项目编号, each once")
    usccs: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        max_length=MAX_PLAN_ITEMS, description="统一社会信用代码 of each project's unit")
    project_types: list[Annotated[str, Field(max_length=40)]] = Field(max_length=MAX_PLAN_ITEMS,
                                                                      description="项目类型 of each project")
    amounts: list[AmountText] = Field(max_length=MAX_PLAN_ITEMS, description="计算金额（元）of each project")

    @model_validator(mode="after")
    def _same_length(self):
        lengths = {len(self.keys), len(self.usccs), len(self.project_types), len(self.amounts)}
        if len(lengths) > 1:
            raise ValueError("keys, usccs, project_types and amounts hold one entry per project: their lengths differ")
        return self


class AllocationRead(BaseModel):
    """Every project's amount after the unit caps and after scaling to the fund, in the order given."""

    edition: str = Field(description="年度")
    factor: str = Field(description="调整系数 / pro-rata factor of the scaling (12 places; 1 when under budget; "
                                    "`per type` with per-type budgets)")
    factors: dict[str, str] = Field(description="各组调整系数 / factor per budget group")
    total_requested: Money = Field(description="合计（元）before the unit caps")
    total_capped: Money = Field(description="合计（元）after the unit caps")
    total_allocated: Money = Field(description="合计（元）after scaling: at most the budget")
    capped_amounts: list[str] = Field(description="单位合计上限后金额（元）/ after the unit caps (G1.3.3, G5.2)")
    allocated_amounts: list[str] = Field(description="调整后金额（元）/ after scaling to the fund (N4.3)")
    unit_caps_trace: list[TraceStep] = Field(description="每个单位每个合计上限一步 / the unit caps, a step per unit and "
                                                         "group with anything to add up")
    scaling_trace: list[TraceStep] = Field(description="调整过程 / a step per budget group")
