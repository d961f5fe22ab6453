"""Routes: public notice (公示), objections and the final plan (N4.3–N4.4)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import problem_responses

from .. import notice, plans
from ..db import WriteSessionDep
from ..models import Objection
from ..schemas import ObjectionCreate, ObjectionRead, ObjectionResolve, PlanRead
from .roles import CITY, CITY_READ, OBJECTORS

router = APIRouter(tags=["notice"])


@router.post("/plans/{plan_id}/publish", response_model=PlanRead, dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def publish_plan(plan_id: str, session: WriteSessionDep, principal: PrincipalDep, request: Request) -> PlanRead:
    """Publish a draft for public notice (公示): the notice lasts the edition's working days on the PRC calendar."""
    return plans.plan_read(session, notice.publish(session, plan_id, principal, request.app.state.clock))


@router.post("/plans/{plan_id}/finalise", response_model=PlanRead, dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def finalise_plan(plan_id: str, session: WriteSessionDep, principal: PrincipalDep, request: Request) -> PlanRead:
    """Make a published version final: after its notice, every objection resolved (else 409 saying what is missing)."""
    return plans.plan_read(session, notice.finalise(session, plan_id, principal, request.app.state.clock))


@router.post("/plans/{plan_id}/objections", response_model=ObjectionRead, status_code=201, dependencies=[OBJECTORS],
             responses=problem_responses(401, 403, 404, 409))
def file_objection(plan_id: str, data: ObjectionCreate, session: WriteSessionDep, principal: PrincipalDep,
                   request: Request) -> ObjectionRead:
    """Object to a project of a published plan during its notice (N4.4): who, what, evidence."""
    objection = notice.file_objection(session, plan_id, data, principal, request.app.state.clock)
    return ObjectionRead.model_validate(objection, from_attributes=True)


@router.get("/objections", response_model=Page[ObjectionRead], dependencies=[CITY_READ],
            responses=problem_responses(401, 403))
def list_objections(session: SessionDep, page: PageDep,
                    edition: Annotated[str | None, Query(pattern=r"^\d{4}$", description="Programme edition")] = None,
                    plan_id: Annotated[str | None, Query(max_length=36, description="Only against this version")]
                    = None,
                    project_id: Annotated[str | None, Query(max_length=36, description="Only on this project")] = None,
                    status: Annotated[Literal["open", "upheld", "dismissed"] | None,
                                      Query(description="Only in this state")] = None) -> Page[ObjectionRead]:
    """Objections, oldest first."""
    query = notice.objections_query(edition, plan_id, project_id, status)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Objection.filed_at, Objection.id).limit(page.limit).offset(page.offset)).all()
    return Page[ObjectionRead](items=[ObjectionRead.model_validate(o, from_attributes=True) for o in rows],
                               total=total, limit=page.limit, offset=page.offset)


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionRead, dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409, 503, 504))
def resolve_objection(objection_id: str, data: ObjectionResolve, session: WriteSessionDep, principal: PrincipalDep,
                      request: Request) -> ObjectionRead:
    """Uphold (the project removed or its amount changed: a new plan version that needs a new notice) or dismiss."""
    state = request.app.state
    objection = notice.resolve_objection(session, state.calculation, objection_id, data, principal, state.clock)
    return ObjectionRead.model_validate(objection, from_attributes=True)
