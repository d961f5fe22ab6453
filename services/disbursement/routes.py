"""HTTP routes of the disbursement service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from common.auth import require_roles
from common.problems import problem_responses

from .schemas import ComputedAmountRead

router = APIRouter()


@router.get("/computed-amounts", response_model=list[ComputedAmountRead], tags=["projects"],
            dependencies=[Depends(require_roles("city_officer", "finance_officer", "admin"))],
            responses=problem_responses(401, 403, 503))
def list_computed_amounts(
    request: Request,
    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024",
    status: Annotated[str | None, Query(description="Only applications in this intake status")] = None,
) -> list[ComputedAmountRead]:
    """Applications of an edition with the amounts calculation computed for them (read from intake over HTTP)."""
    out = []
    for app in request.app.state.intake.applications(edition, status):
        computation, evaluation = app.get("computation") or {}, app.get("evaluation") or {}
        out.append(ComputedAmountRead(application_id=app["id"], applicant_id=app["applicant_id"],
                                      project_type=app["project_type"], status=app["status"],
                                      outcome=evaluation.get("outcome"), amount=computation.get("amount")))
    return out
