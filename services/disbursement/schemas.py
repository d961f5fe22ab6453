"""Request and response models of the disbursement service."""
from __future__ import annotations

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
