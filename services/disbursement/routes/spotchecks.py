"""Routes: the city's spot checks (抽查, N4.3)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import problem_responses

from .. import spotchecks
from ..db import WriteSessionDep
from ..models import SpotCheck
from ..schemas import SpotCheckCreate, SpotCheckFindingIn, SpotCheckFindingRead, SpotCheckRead
from .roles import CITY, CITY_READ

router = APIRouter(tags=["spot checks"])


@router.post("/spot-checks", response_model=SpotCheckRead, status_code=201, dependencies=[CITY],
             responses=problem_responses(401, 403, 409))
def draw_spot_check(data: SpotCheckCreate, session: WriteSessionDep, principal: PrincipalDep,
                    request: Request) -> SpotCheckRead:
    """Draw and record a sample of audited projects, reproducible from its seed (N4.3)."""
    draw = spotchecks.draw(session, data.edition, data.size, data.seed, principal, request.app.state.clock)
    return spotchecks.spot_check_read(session, draw)


@router.get("/spot-checks", response_model=Page[SpotCheckRead], dependencies=[CITY_READ],
            responses=problem_responses(401, 403))
def list_spot_checks(session: SessionDep, page: PageDep,
                     edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024"
                     ) -> Page[SpotCheckRead]:
    """The spot checks drawn for an edition, with their findings, oldest first."""
    query = select(SpotCheck).where(SpotCheck.edition == edition)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(SpotCheck.drawn_at, SpotCheck.id).limit(page.limit).offset(page.offset)).all()
    return Page[SpotCheckRead](items=[spotchecks.spot_check_read(session, s) for s in rows], total=total,
                               limit=page.limit, offset=page.offset)


@router.post("/spot-checks/{spot_check_id}/findings", response_model=SpotCheckFindingRead, status_code=201,
             dependencies=[CITY], responses=problem_responses(401, 403, 404, 409, 503, 504))
def record_spot_check_finding(spot_check_id: str, data: SpotCheckFindingIn, session: WriteSessionDep,
                              principal: PrincipalDep, request: Request) -> SpotCheckFindingRead:
    """A finding on a sampled project: confirmed, adjusted (more lines disallowed, recomputed) or failed."""
    state = request.app.state
    finding = spotchecks.record_finding(session, spot_check_id, data, principal, state.intake, state.calculation,
                                        state.clock)
    return SpotCheckFindingRead.model_validate(finding, from_attributes=True)

