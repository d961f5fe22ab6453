"""HTTP routes of the disbursement service, one module per concern (thin: parse, authorise, call, shape)."""
from fastapi import APIRouter

from . import audit, clawbacks, notice, payments, plans, projects, spotchecks

router = APIRouter()
for module in (projects, audit, spotchecks, plans, notice, payments, clawbacks):
    router.include_router(module.router)
