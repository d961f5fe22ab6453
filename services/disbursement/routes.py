"""HTTP routes of the disbursement service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from openpyxl import Workbook

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.problems import problem_responses

from . import plans
from .schemas import (ComputedAmountRead, ImportResult, ObjectionCreate, ObjectionRead, ObjectionResolve, PlanCreate,
                      PlanRead)

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


CITY = Depends(require_roles("city_officer", "admin"))
READ_PLANS = Depends(require_roles("city_officer", "finance_officer", "admin", "auditor", "district_officer",
                                   "applicant", "expert"))


@router.post("/projects/import", response_model=ImportResult, tags=["projects"], dependencies=[CITY],
             responses=problem_responses(401, 403, 503))
def import_projects(session: SessionDep, request: Request,
                    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024"
                    ) -> ImportResult:
    """Take over the district-passed applications of an edition from intake (again is harmless)."""
    return plans.import_projects(session, request.app.state.intake, edition, request.app.state.clock)


@router.post("/plans", response_model=PlanRead, status_code=201, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 409, 503))
def create_plan(data: PlanCreate, session: SessionDep, principal: PrincipalDep, request: Request) -> PlanRead:
    """A new plan version: unit caps, then scaled to the fund exactly to the fen (N4.3)."""
    plan = plans.build_plan(session, request.app.state.calculation, data.edition, data.budget, principal,
                            request.app.state.clock)
    return plans.plan_read(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanRead, tags=["plans"], dependencies=[READ_PLANS],
            responses=problem_responses(401, 403, 404))
def get_plan(plan_id: str, session: SessionDep) -> PlanRead:
    """A plan version with its projects."""
    return plans.plan_read(session, plans.get_plan(session, plan_id))


@router.post("/plans/{plan_id}/publish", response_model=PlanRead, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def publish_plan(plan_id: str, session: SessionDep, request: Request) -> PlanRead:
    """Publish a draft for public notice (公示); the notice ends after the edition's working days (N4.4)."""
    return plans.plan_read(session, plans.publish(session, plan_id, request.app.state.clock))


@router.post("/plans/{plan_id}/finalise", response_model=PlanRead, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def finalise_plan(plan_id: str, session: SessionDep, request: Request) -> PlanRead:
    """Make a published plan final: only after its notice and with every objection resolved (N4.4)."""
    return plans.plan_read(session, plans.finalise(session, plan_id, request.app.state.clock))


@router.get("/plans/{plan_id}/export", tags=["plans"], dependencies=[READ_PLANS], response_class=Response,
            responses={200: {"description": "The plan for the public notice", "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}}}}, **problem_responses(401, 403, 404)})
def export_plan(plan_id: str, session: SessionDep,
                format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv") -> Response:
    """The plan as CSV or XLSX, for the public notice."""
    plan = plans.plan_read(session, plans.get_plan(session, plan_id))
    header = ["申报单位", "统一社会信用代码", "项目类型", "核定金额（元）", "拟支持金额（元）"]
    rows = [[i.unit_name, i.uscc, i.project_type, f"{i.computed_amount:.2f}", f"{i.allocated_amount:.2f}"]
            for i in plan.items]
    name = f"plan-{plan.edition}-v{plan.version}.{format}"
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        content, media = ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    else:
        workbook = Workbook()
        for row in [header, *rows]:
            workbook.active.append(row)
        out = io.BytesIO()
        workbook.save(out)
        content, media = out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/plans/{plan_id}/objections", response_model=ObjectionRead, status_code=201, tags=["notice"],
             dependencies=[Depends(require_roles("applicant", "district_officer", "city_officer", "admin"))],
             responses=problem_responses(401, 403, 404, 409))
def file_objection(plan_id: str, data: ObjectionCreate, session: SessionDep, principal: PrincipalDep,
                   request: Request) -> ObjectionRead:
    """Object to a project of a published plan during its notice (N4.4)."""
    objection = plans.file_objection(session, plan_id, data.project_id, data.statement, principal,
                                     request.app.state.clock)
    return plans.objection_read(objection)


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionRead, tags=["notice"],
             dependencies=[CITY], responses=problem_responses(401, 403, 404, 409))
def resolve_objection(objection_id: str, data: ObjectionResolve, session: SessionDep, principal: PrincipalDep,
                      request: Request) -> ObjectionRead:
    """Uphold (a new plan version that needs a new notice) or dismiss an objection."""
    objection = plans.resolve_objection(session, request.app.state.calculation, objection_id, data.decision,
                                        data.resolution, data.new_amount, principal, request.app.state.clock)
    return plans.objection_read(objection)
