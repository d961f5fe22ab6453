"""HTTP routes of the calculation service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep, get_session
from common.express import ExpressRoute
from common.pagination import Page, PageDep
from common.problems import problem_responses

from . import allocation, scaling, service
from .dossier import Dossier
from .schemas import (AllocationIn, AllocationRead, BudgetScalingIn, BudgetScalingRead, ComputationBatchIn,
                      ComputationBatchRead, ComputationRead, RecomputeIn, UnitCapsIn, UnitCapsRead)

router = APIRouter()
PLANNERS = Depends(require_roles("city_officer", "admin"))
READERS = Depends(require_roles("city_officer", "district_officer", "auditor", "admin"))


@router.post("/computations", response_model=ComputationRead, tags=["computations"],
             responses=problem_responses(401, 422))
async def compute_amount(dossier: Dossier, principal: PrincipalDep, request: Request) -> ComputationRead:
    """The amount of a dossier in CNY with its trace (disallowed lines, if any, are left out and named)."""
    answer = await precheck(dossier, request)
    if answer is not None:
        return answer
    return await run_in_threadpool(_compute_kept, dossier, request)


async def precheck(dossier: Dossier, request: Request) -> ComputationRead | None:
    """A pre-check priced and kept nowhere; None for a computation the service keeps.

    Also the express lane's handler for POST /computations (common/express.py)."""
    state = request.app.state
    if dossier.application_id is not None or state.settings.keep_prechecks:
        return None
    # priced in memory on the event loop, without a session or the thread pool (under load, py-spy showed the three
    # hand-offs to the pool taking a quarter of its CPU)
    return service.compute(None, dossier, state.clock)


EXPRESS = [ExpressRoute("/computations", Dossier, precheck)]


def _compute_kept(dossier: Dossier, request: Request) -> ComputationRead:
    with contextmanager(get_session)(request) as session:
        return service.compute(session, dossier, request.app.state.clock, request.app.state.settings.keep_prechecks)


@router.post("/computations/batch", response_model=ComputationBatchRead, tags=["computations"],
             dependencies=[PLANNERS], responses=problem_responses(401, 403, 422))
def compute_amounts(data: ComputationBatchIn, session: SessionDep, request: Request) -> ComputationBatchRead:
    """Price up to 500 dossiers in one request and one transaction (an edition re-priced); each answered alone."""
    state = request.app.state
    return ComputationBatchRead(items=service.compute_batch(session, data.items, state.clock,
                                                            state.settings.keep_prechecks, request.url.path))


@router.post("/applications/{application_id}/computations", response_model=ComputationRead, tags=["computations"],
             responses=problem_responses(401, 403, 404, 422, 503, 504))
def compute_application_amount(application_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                                                   description="申请编号")],
                               data: RecomputeIn, session: SessionDep, principal: PrincipalDep, request: Request
                               ) -> ComputationRead:
    """The amount of an application from its dossier at intake (read with the caller's rights), less disallowed lines."""
    state = request.app.state
    return service.compute_for_application(session, state.intake, application_id, request.headers["authorization"],
                                           data.disallowed, state.clock, state.settings.keep_prechecks)


@router.get("/computations", response_model=Page[ComputationRead], tags=["computations"], dependencies=[READERS],
            responses=problem_responses(401, 403))
def list_computations(session: SessionDep, page: PageDep,
                      application_id: Annotated[str | None, Query(max_length=64, description="申请编号")] = None,
                      uscc: Annotated[str | None, Query(max_length=40, description="统一社会信用代码")] = None
                      ) -> Page[ComputationRead]:
    """Kept computations, newest first: an application's amounts over time (submission, audit, objections)."""
    return service.list_computations(session, page, application_id=application_id, uscc=uscc)


@router.post("/unit-caps", response_model=UnitCapsRead, tags=["caps"], dependencies=[PLANNERS],
             responses=problem_responses(401, 403, 422))
def apply_unit_caps(data: UnitCapsIn) -> UnitCapsRead:
    """Per-unit caps across projects (G1.3.3 platform 300,000; G5.2 TCM 500,000), one factor, exact to the fen."""
    return service.unit_caps(data)


@router.post("/budget-scaling", response_model=BudgetScalingRead, tags=["caps"], dependencies=[PLANNERS],
             responses=problem_responses(401, 403, 422))
def scale_to_budget(data: BudgetScalingIn) -> BudgetScalingRead:
    """Scale amounts to the fund size (统筹调整, N4.3) so that the plan sums exactly to the budget."""
    return scaling.budget_scaling(data)


@router.post("/allocations", response_model=AllocationRead, tags=["caps"], dependencies=[PLANNERS],
             responses=problem_responses(401, 403, 422))
def allocate(data: AllocationIn) -> AllocationRead:
    """An edition's projects as columns: the unit caps (G1.3.3, G5.2), then scaling to the fund (N4.3), one call."""
    return allocation.allocate(data)
