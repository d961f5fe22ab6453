"""Routes: allocation plan versions and their export for the public notice (N4.3)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.jobs import JobRead, accepted_responses
from common.pagination import Page, PageDep
from common.problems import problem_responses

from .. import exports, plans
from ..db import WriteSessionDep
from ..jobs import JOBS
from ..models import Plan
from ..schemas import PlanCreate, PlanHead, PlanItemRead, PlanRead, PlanStatus, PlanSummary
from .roles import CITY, MONEY_READ, PLAN_READ

router = APIRouter(tags=["plans"])


@router.post("/plans", response_model=PlanRead | PlanHead, status_code=201, dependencies=[CITY],
             responses=problem_responses(401, 403, 409, 503, 504))
def create_plan(data: PlanCreate, session: WriteSessionDep, principal: PrincipalDep, request: Request,
                response: Response,
                prefer: Annotated[str | None, Header(description="`return=minimal`: answer the version without its "
                                                                 "lines (RFC 7240); page them with GET "
                                                                 "/plans/{plan_id}/items")] = None
                ) -> PlanRead | PlanHead:
    """A new plan version from the audited amounts: unit caps, then scaled to the fund to the fen (N4.3)."""
    plan = plans.build_plan(session, request.app.state.calculation, data.edition, data.budget, data.type_budgets,
                            principal, request.app.state.clock)
    response.headers["Location"] = f"/api/v1/disbursement/plans/{plan.id}"
    if prefer is not None and "return=minimal" in prefer.replace(" ", "").lower().split(","):
        # a plan of a whole edition has 100,000 lines (a 36 MB answer); a caller that pages them asks for the head
        response.headers["Preference-Applied"] = "return=minimal"
        return plans.plan_head(session, plan)
    return plans.plan_read(session, plan)


@router.get("/plans", response_model=Page[PlanSummary], dependencies=[PLAN_READ],
            responses=problem_responses(401, 403))
def list_plans(session: SessionDep, principal: PrincipalDep, page: PageDep,
               edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024",
               status: Annotated[PlanStatus | None, Query(description="Only versions in this state")] = None
               ) -> Page[PlanSummary]:
    """The plan versions the caller may see, newest first (drafts only for the city)."""
    query = plans.scoped_plans(principal).where(Plan.edition == edition)
    if status is not None:
        query = query.where(Plan.status == status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Plan.version.desc()).limit(page.limit).offset(page.offset)).all()
    return Page[PlanSummary](items=[plans.plan_summary(p) for p in rows], total=total, limit=page.limit,
                             offset=page.offset)


@router.get("/plans/{plan_id}", response_model=PlanRead, dependencies=[PLAN_READ],
            responses=problem_responses(401, 403, 404))
def get_plan(plan_id: str, session: SessionDep, principal: PrincipalDep) -> PlanRead:
    """A plan version with its projects."""
    return plans.plan_read(session, plans.get_plan(session, plan_id, principal))


@router.get("/plans/{plan_id}/items", response_model=Page[PlanItemRead], dependencies=[PLAN_READ],
            responses=problem_responses(401, 403, 404))
def list_plan_items(plan_id: str, session: SessionDep, principal: PrincipalDep, page: PageDep) -> Page[PlanItemRead]:
    """A plan version's lines, page by page, by unit name (the same lines as GET /plans/{plan_id} holds)."""
    plans.get_plan(session, plan_id, principal)
    return plans.plan_items(session, plan_id, page)


@router.get("/plans/{plan_id}/export", dependencies=[PLAN_READ], response_class=Response,
            responses={200: {"description": "The plan version for the public notice (公示)", "content": {
                "text/csv": {"schema": {"type": "string"}},
                exports.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
                **problem_responses(401, 403, 404)})
def export_plan(plan_id: str, session: SessionDep, principal: PrincipalDep,
                format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv") -> Response:
    """The plan version as CSV or XLSX, for the public notice (a large plan: POST /plans/{plan_id}/export-jobs)."""
    plan = plans.plan_read(session, plans.get_plan(session, plan_id, principal))
    content, media, name = exports.plan_file(plan, format)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/plans/{plan_id}/export-jobs", response_model=JobRead, status_code=202, dependencies=[MONEY_READ],
             responses=accepted_responses(401, 403, 404))
def start_plan_export(plan_id: str, session: SessionDep, principal: PrincipalDep, response: Response,
                      format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv") -> JobRead:
    """Export a (large) plan version as a job: 202 and the job's URL; its result is the CSV or XLSX file."""
    plans.get_plan(session, plan_id, principal)
    return JOBS.submit(session, response, principal, "plan-export", params={"plan_id": plan_id, "format": format})
