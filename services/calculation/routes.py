"""HTTP routes of the calculation service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.problems import problem_responses

from . import service
from .amounts import Dossier
from .schemas import BudgetScalingIn, BudgetScalingRead, ComputationRead, UnitCapsIn, UnitCapsRead

router = APIRouter()
PLANNERS = Depends(require_roles("city_officer", "admin"))


@router.post("/computations", response_model=ComputationRead, tags=["computations"], responses=problem_responses(401))
def compute_amount(dossier: Dossier, session: SessionDep, principal: PrincipalDep, request: Request
                   ) -> ComputationRead:
    """The amount of a dossier in CNY with its trace (disallowed lines, if any, are left out and named)."""
    return service.compute(session, dossier, request.app.state.clock)


@router.post("/unit-caps", response_model=UnitCapsRead, tags=["caps"], dependencies=[PLANNERS],
             responses=problem_responses(401, 403))
def apply_unit_caps(data: UnitCapsIn) -> UnitCapsRead:
    """Per-unit caps across projects (G1.3.3 platform 300,000; G5.2 TCM 500,000), exact to the fen."""
    return service.unit_caps(data)


@router.post("/budget-scaling", response_model=BudgetScalingRead, tags=["caps"], dependencies=[PLANNERS],
             responses=problem_responses(401, 403))
def scale_to_budget(data: BudgetScalingIn) -> BudgetScalingRead:
    """Scale amounts to the fund size (统筹调整, N4.3) so that the plan sums exactly to the budget."""
    return service.budget_scaling(data)
