"""Routes: clawbacks after payment (追缴, N3.2, N3.3)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import problem_responses

from .. import clawbacks
from ..db import WriteSessionDep
from ..idempotency import IdempotencyDep, run_once
from ..models import Clawback
from ..schemas import ClawbackCreate, ClawbackRead, RecoveryIn, ReferralIn
from .roles import CITY, MONEY_READ

router = APIRouter(tags=["clawbacks"])


@router.post("/clawbacks", response_model=ClawbackRead, status_code=201, dependencies=[CITY],
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503, 504))
def create_clawback(data: ClawbackCreate, session: WriteSessionDep, principal: PrincipalDep, idem: IdempotencyDep,
                    request: Request):
    """Demand funds back from a paid unit; forged materials or false invoices also debar it (N3.2)."""
    state = request.app.state
    return run_once(session, idem, 201, lambda: clawbacks.clawback_read(session, clawbacks.create_clawback(
        session, state.eligibility, data, principal, state.clock)).model_dump(mode="json"), state.clock)


@router.get("/clawbacks", response_model=Page[ClawbackRead], dependencies=[MONEY_READ],
            responses=problem_responses(401, 403))
def list_clawbacks(session: SessionDep, page: PageDep,
                   project_id: Annotated[str | None, Query(max_length=36, description="Only on this project")] = None,
                   uscc: Annotated[str | None, Query(max_length=18, description="Only of this unit")] = None,
                   status: Annotated[Literal["demanded", "partly_recovered", "recovered", "referred"] | None,
                                     Query(description="Only in this state")] = None) -> Page[ClawbackRead]:
    """Clawbacks with their recoveries, oldest first."""
    query = select(Clawback)
    for column, value in ((Clawback.project_id, project_id), (Clawback.uscc, uscc), (Clawback.status, status)):
        if value is not None:
            query = query.where(column == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Clawback.created_at, Clawback.id).limit(page.limit).offset(page.offset)).all()
    return Page[ClawbackRead](items=[clawbacks.clawback_read(session, c) for c in rows], total=total,
                              limit=page.limit, offset=page.offset)


@router.post("/clawbacks/{clawback_id}/recoveries", response_model=ClawbackRead, status_code=201,
             dependencies=[CITY], responses=problem_responses(400, 401, 403, 404, 409, 422))
def record_recovery(clawback_id: str, data: RecoveryIn, session: WriteSessionDep, principal: PrincipalDep,
                    idem: IdempotencyDep, request: Request):
    """Record money received back: partly recovered, then recovered when all of it is in."""
    clock = request.app.state.clock
    return run_once(session, idem, 201, lambda: clawbacks.clawback_read(session, clawbacks.record_recovery(
        session, clawback_id, data, principal, clock)).model_dump(mode="json"), clock)


@router.post("/clawbacks/{clawback_id}/referral", response_model=ClawbackRead, dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def refer_clawback(clawback_id: str, data: ReferralIn, session: WriteSessionDep, request: Request) -> ClawbackRead:
    """Refer an unrecovered clawback to the judicial authorities (移交司法机关, N3.3)."""
    return clawbacks.clawback_read(session, clawbacks.refer(session, clawback_id, data.note,
                                                            request.app.state.clock))
