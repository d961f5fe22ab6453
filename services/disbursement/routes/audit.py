"""Routes: third-party audit and expert review (N4.2)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from common.auth import PrincipalDep
from common.db import SessionDep
from common.problems import problem_responses

from .. import projects, review
from ..db import WriteSessionDep
from ..schemas import AuditOpinionIn, AuditorAssign, ExpertReviewRead, ExpertScoreIn, ExpertScoreRead, ProjectRead
from .roles import AUDITOR, CITY, CITY_READ, EXPERT

router = APIRouter(tags=["audit"])


@router.post("/projects/{project_id}/auditor", response_model=ProjectRead, dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def assign_auditor(project_id: str, data: AuditorAssign, session: WriteSessionDep, principal: PrincipalDep,
                   request: Request) -> ProjectRead:
    """Commission a third-party auditor for a project (委托第三方审计, N4.2)."""
    project = review.assign_auditor(session, project_id, data.auditor, principal, request.app.state.clock)
    return projects.project_read(project)


@router.post("/projects/{project_id}/audit", response_model=ProjectRead, dependencies=[AUDITOR],
             responses=problem_responses(401, 403, 404, 409, 503, 504))
def record_audit_opinion(project_id: str, data: AuditOpinionIn, session: WriteSessionDep, principal: PrincipalDep,
                         request: Request) -> ProjectRead:
    """The assigned auditor's opinion; the amount is recomputed by calculation without the disallowed lines."""
    state = request.app.state
    project = review.record_audit(session, project_id, data.opinion, data.disallowed, data.note, principal,
                                  state.intake, state.calculation, state.clock)
    return projects.project_read(project)


@router.post("/projects/{project_id}/expert-scores", response_model=ExpertScoreRead, status_code=201,
             dependencies=[EXPERT], responses=problem_responses(401, 403, 404, 409))
def score_project(project_id: str, data: ExpertScoreIn, session: WriteSessionDep, principal: PrincipalDep,
                  request: Request) -> ExpertScoreRead:
    """An expert's scores by criterion, or a declared conflict of interest that excludes the expert (N4.2)."""
    entry = review.score(session, project_id, data, principal, request.app.state.clock)
    return ExpertScoreRead.model_validate(entry, from_attributes=True)


@router.get("/projects/{project_id}/expert-scores", response_model=ExpertReviewRead, dependencies=[CITY_READ],
            responses=problem_responses(401, 403, 404))
def get_expert_review(project_id: str, session: SessionDep, principal: PrincipalDep) -> ExpertReviewRead:
    """A project's expert review: scores, conflicts, averages of the experts not excluded."""
    return review.expert_review(session, projects.get_project(session, project_id, principal))
