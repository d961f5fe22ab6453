"""Request and response models of the calculation service."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from common.money import Money


class TraceStep(BaseModel):
    """One step of a computation."""

    step: str = Field(description="What was computed")
    clause: str = Field(description="Clause of POLICY.md applied")
    inputs: dict[str, Any] = Field(description="The figures it started from")
    parameter: dict[str, Any] = Field(description="The edition parameter(s) used, with their clause")
    result: Any = Field(description="What came out (amounts as strings)")
    note: str = Field(description="Why, in words")


class ComputationRead(BaseModel):
    """An amount and the trace that explains it."""

    id: str = Field(description="Computation id")
    application_id: str | None = Field(description="The application, or null for a pre-check")
    edition: str = Field(description="Programme edition")
    project_type: str = Field(description="项目类型")
    amount: Money = Field(description="核定金额（元）, rounded down to the fen")
    currency: str = Field(default="CNY", description="Always CNY")
    trace: list[TraceStep] = Field(description="Each step with its inputs, parameter and clause")


class CapItem(BaseModel):
    """One project's amount, for the unit caps."""

    key: str = Field(description="The caller's id of the project")
    uscc: str = Field(description="统一社会信用代码 of its unit")
    project_type: str = Field(description="项目类型")
    amount: Money = Field(description="Computed amount (元)")


class UnitCapsIn(BaseModel):
    """Projects of an edition to put under the per-unit caps."""

    edition: str = Field(default="2024", description="Programme edition")
    items: list[CapItem] = Field(description="Projects with their computed amounts")


class CappedItem(CapItem):
    """A project after the unit caps."""

    capped_amount: Money = Field(description="Amount after the unit cap (元)")


class UnitCapsRead(BaseModel):
    """Every project after the unit caps, and a trace per capped unit."""

    items: list[CappedItem] = Field(description="Same order as given")
    trace: list[TraceStep] = Field(description="One step per unit whose cap bound")


class ScaleItem(BaseModel):
    """One project's amount, for budget scaling."""

    key: str = Field(description="The caller's id of the project")
    amount: Money = Field(description="Amount before scaling (元)")
    project_type: str | None = Field(default=None, description="项目类型 (for per-type budgets)")


class BudgetScalingIn(BaseModel):
    """A fund size and the amounts to fit into it (统筹调整, N4.3)."""

    budget: Money = Field(description="Fund size (元)")
    items: list[ScaleItem] = Field(description="Projects with their amounts")
    type_budgets: dict[str, Money] | None = Field(default=None, description="Optional budget per project type")


class ScaledItem(ScaleItem):
    """A project after scaling."""

    allocated: Money = Field(description="Amount after scaling (元)")


class BudgetScalingRead(BaseModel):
    """The scaled plan: sums exactly to the budget when the amounts exceeded it."""

    factor: str = Field(description="Pro-rata factor applied (1 when under budget)")
    total_requested: Money = Field(description="Sum before scaling (元)")
    total_allocated: Money = Field(description="Sum after scaling (元)")
    items: list[ScaledItem] = Field(description="Same order as given")
    trace: list[TraceStep] = Field(description="How the scaling was done")
