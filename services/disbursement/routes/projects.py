"""Routes: projects taken over from the districts."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import problem_responses

from .. import projects
from ..db import WriteSessionDep
from ..models import Project
from ..schemas import ComputedAmountRead, ImportResult, ProjectRead
from .roles import CITY, MONEY_READ, PROJECT_READ

router = APIRouter(tags=["projects"])
EditionQuery = Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition (年度)")]


@router.get("/computed-amounts", response_model=list[ComputedAmountRead], dependencies=[MONEY_READ],
            responses=problem_responses(401, 403, 503, 504))
def list_computed_amounts(request: Request, edition: EditionQuery = "2024",
                          status: Annotated[str | None, Query(description="Only applications in this intake status")]
                          = None) -> list[ComputedAmountRead]:
    """Applications of an edition with the amounts calculation computed for them (read from intake over HTTP)."""
    return [ComputedAmountRead(application_id=a.id, applicant_id=a.applicant_id, project_type=a.project_type,
                               status=a.status, outcome=a.evaluation.outcome if a.evaluation else None,
                               amount=a.computation.amount if a.computation else None)
            for a in request.app.state.intake.applications(edition, status)]


@router.post("/projects/import", response_model=ImportResult, dependencies=[CITY],
             responses=problem_responses(401, 403, 409, 503, 504))
def import_projects(session: WriteSessionDep, request: Request, edition: EditionQuery = "2024") -> ImportResult:
    """Take over the district-passed applications of an edition from intake (again takes only what is new)."""
    return projects.import_projects(session, request.app.state.intake, edition, request.app.state.clock)


@router.get("/projects", response_model=Page[ProjectRead], dependencies=[PROJECT_READ],
            responses=problem_responses(401, 403))
def list_projects(session: SessionDep, principal: PrincipalDep, page: PageDep, edition: EditionQuery = "2024",
                  application_id: Annotated[str | None, Query(max_length=64, description="Only this application's")]
                  = None,
                  auditor: Annotated[str | None, Query(max_length=100, description="Only those of this auditor")]
                  = None,
                  audited: Annotated[bool | None, Query(description="Only audited (true) or awaiting audit (false)")]
                  = None) -> Page[ProjectRead]:
    """The projects the caller may see (an auditor only those assigned to it), oldest first."""
    query = projects.scoped_projects(principal).where(Project.edition == edition)
    if application_id is not None:
        query = query.where(Project.application_id == application_id)
    if auditor is not None:
        query = query.where(Project.auditor == auditor)
    if audited is not None:
        query = query.where(Project.audit_opinion.is_not(None) if audited else Project.audit_opinion.is_(None))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Project.created_at, Project.id).limit(page.limit).offset(page.offset)).all()
    return Page[ProjectRead](items=[projects.project_read(p) for p in rows], total=total, limit=page.limit,
                             offset=page.offset)


@router.get("/projects/{project_id}", response_model=ProjectRead, dependencies=[PROJECT_READ],
            responses=problem_responses(401, 403, 404))
def get_project(project_id: str, session: SessionDep, principal: PrincipalDep) -> ProjectRead:
    """One project (404 when outside the caller's scope)."""
    return projects.project_read(projects.get_project(session, project_id, principal))
