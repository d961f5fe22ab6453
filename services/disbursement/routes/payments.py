"""Routes: payment instructions in two legs, bank statements, retries, reconciliation (N4.5)."""
from __future__ import annotations

import hashlib

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from sqlmodel import func, select

from common.auth import PrincipalDep
from common.db import SessionDep
from common.jobs import JobRead, accepted_responses
from common.pagination import Page, PageDep
from common.problems import PayloadTooLarge, problem_responses

from .. import payments, plans
from ..db import WriteSessionDep
from ..jobs import JOBS
from ..idempotency import IdempotencyDep, run_once
from ..models import BankStatement
from ..schemas import InstructionRead, ReconciliationRead, StatementResult
from .roles import FINANCE, MONEY_READ

router = APIRouter(tags=["payments"])
STATEMENT_EXAMPLE = "end_to_end_id,status,reason,amount\nFF0123…,paid,,100000.00\nFF4567…,failed,账户已销户,50000.00\n"


@router.post("/plans/{plan_id}/payments", response_model=list[InstructionRead], status_code=201,
             dependencies=[FINANCE], responses=problem_responses(400, 401, 403, 404, 409, 422))
def create_payment_instructions(plan_id: str, session: WriteSessionDep, principal: PrincipalDep,
                                idem: IdempotencyDep, request: Request):
    """A final plan's payment instructions in two legs (财政局 → 商务局 → each unit), created exactly once (N4.5)."""
    state = request.app.state
    return run_once(session, idem, 201, lambda: [
        payments.instruction_read(i).model_dump(mode="json")
        for i in payments.create_instructions(session, plan_id, state.settings, principal, state.clock)], state.clock)


@router.get("/plans/{plan_id}/payments", response_model=list[InstructionRead], dependencies=[MONEY_READ],
            responses=problem_responses(401, 403, 404))
def list_payment_instructions(plan_id: str, session: SessionDep) -> list[InstructionRead]:
    """Every instruction of a plan with its state, retries included."""
    plans.get_plan(session, plan_id)
    return [payments.instruction_read(i) for i in payments.instructions_of(session, plan_id)]


@router.post("/payments/statements", response_model=JobRead, status_code=202, dependencies=[FINANCE],
             responses=accepted_responses(401, 403, 413, 422))
def record_bank_statement(content: Annotated[bytes, Body(media_type="text/csv", description=(
        "The treasury's bank statement as CSV (UTF-8), header end_to_end_id,status[,reason][,amount]; status "
        "paid, failed or returned (a reason is required for the last two)"), examples=[STATEMENT_EXAMPLE])],
        session: SessionDep, principal: PrincipalDep, request: Request, response: Response) -> JobRead:
    """Record payment results in bulk from a bank statement, as a job: each line applied or reported by number."""
    limit = request.app.state.settings.statement_max_bytes
    if len(content) > limit:
        raise PayloadTooLarge(f"A statement is at most {limit} bytes; split it.", limit_bytes=limit)
    # the job's result_ref is the statement's record (GET /payments/statements), its result file every line's outcome
    return JOBS.submit(session, response, principal, "bank-statement", data=content, media_type="text/csv",
                       params={"sha256": hashlib.sha256(content).hexdigest()})


@router.get("/payments/statements", response_model=Page[StatementResult], dependencies=[MONEY_READ],
            responses=problem_responses(401, 403))
def list_bank_statements(session: SessionDep, page: PageDep) -> Page[StatementResult]:
    """The bank statements recorded, newest first, with what each changed."""
    total = session.exec(select(func.count()).select_from(BankStatement)).one()
    rows = session.exec(select(BankStatement).order_by(BankStatement.received_at.desc(), BankStatement.id)
                        .limit(page.limit).offset(page.offset)).all()
    return Page[StatementResult](items=[StatementResult.model_validate(s, from_attributes=True) for s in rows],
                                 total=total, limit=page.limit, offset=page.offset)


@router.post("/payments/{instruction_id}/retry", response_model=InstructionRead, status_code=201,
             dependencies=[FINANCE], responses=problem_responses(400, 401, 403, 404, 409, 422))
def retry_payment(instruction_id: str, session: WriteSessionDep, principal: PrincipalDep, idem: IdempotencyDep,
                  request: Request):
    """A new instruction for a failed or returned payment, linked to it; never a second one for the same failure."""
    clock = request.app.state.clock
    return run_once(session, idem, 201, lambda: payments.instruction_read(
        payments.retry(session, instruction_id, principal, clock)).model_dump(mode="json"), clock)


@router.get("/plans/{plan_id}/reconciliation", response_model=ReconciliationRead, dependencies=[MONEY_READ],
            responses=problem_responses(401, 403, 404))
def reconcile_plan(plan_id: str, session: SessionDep) -> ReconciliationRead:
    """Plan total = paid + pending + failed (+ not yet instructed), per unit and in total, to the fen."""
    return payments.reconciliation(session, plans.get_plan(session, plan_id))
