"""HTTP routes of the disbursement service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from openpyxl import Workbook
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import problem_responses

from . import payments, plans, review
from .models import Project
from .schemas import (AuditOpinion, AuditorAssign, ClawbackCreate, ClawbackRead, ComputedAmountRead, ExpertScoreIn,
                      ExpertScoreRead, ImportResult, InstructionRead, ObjectionCreate, ObjectionRead, ObjectionResolve,
                      PlanCreate, PlanRead, ProjectRead, RecoveryIn, SpotCheckCreate, SpotCheckFinding, SpotCheckRead,
                      StatementResult)

router = APIRouter()


@router.get("/computed-amounts", response_model=list[ComputedAmountRead], tags=["projects"],
            dependencies=[Depends(require_roles("city_officer", "finance_officer", "admin"))],
            responses=problem_responses(401, 403, 503))
def list_computed_amounts(
    request: Request,
    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024",
    status: Annotated[str | None, Query(description="Only applications in this intake status")] = None,
) -> list[ComputedAmountRead]:
    """Applications of an edition with the amounts calculation computed for them (read from intake over HTTP)."""
    out = []
    for app in request.app.state.intake.applications(edition, status):
        computation, evaluation = app.get("computation") or {}, app.get("evaluation") or {}
        out.append(ComputedAmountRead(application_id=app["id"], applicant_id=app["applicant_id"],
                                      project_type=app["project_type"], status=app["status"],
                                      outcome=evaluation.get("outcome"), amount=computation.get("amount")))
    return out


CITY = Depends(require_roles("city_officer", "admin"))
READ_PLANS = Depends(require_roles("city_officer", "finance_officer", "admin", "auditor", "district_officer",
                                   "applicant", "expert"))


@router.post("/projects/import", response_model=ImportResult, tags=["projects"], dependencies=[CITY],
             responses=problem_responses(401, 403, 503))
def import_projects(session: SessionDep, request: Request,
                    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024"
                    ) -> ImportResult:
    """Take over the district-passed applications of an edition from intake (again is harmless)."""
    return plans.import_projects(session, request.app.state.intake, edition, request.app.state.clock)


@router.post("/plans", response_model=PlanRead, status_code=201, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 409, 503))
def create_plan(data: PlanCreate, session: SessionDep, principal: PrincipalDep, request: Request) -> PlanRead:
    """A new plan version: unit caps, then scaled to the fund exactly to the fen (N4.3)."""
    plan = plans.build_plan(session, request.app.state.calculation, data.edition, data.budget, principal,
                            request.app.state.clock)
    return plans.plan_read(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanRead, tags=["plans"], dependencies=[READ_PLANS],
            responses=problem_responses(401, 403, 404))
def get_plan(plan_id: str, session: SessionDep) -> PlanRead:
    """A plan version with its projects."""
    return plans.plan_read(session, plans.get_plan(session, plan_id))


@router.post("/plans/{plan_id}/publish", response_model=PlanRead, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def publish_plan(plan_id: str, session: SessionDep, request: Request) -> PlanRead:
    """Publish a draft for public notice (公示); the notice ends after the edition's working days (N4.4)."""
    return plans.plan_read(session, plans.publish(session, plan_id, request.app.state.clock))


@router.post("/plans/{plan_id}/finalise", response_model=PlanRead, tags=["plans"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def finalise_plan(plan_id: str, session: SessionDep, request: Request) -> PlanRead:
    """Make a published plan final: only after its notice and with every objection resolved (N4.4)."""
    return plans.plan_read(session, plans.finalise(session, plan_id, request.app.state.clock))


@router.get("/plans/{plan_id}/export", tags=["plans"], dependencies=[READ_PLANS], response_class=Response,
            responses={200: {"description": "The plan for the public notice", "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}}}}, **problem_responses(401, 403, 404)})
def export_plan(plan_id: str, session: SessionDep,
                format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv") -> Response:
    """The plan as CSV or XLSX, for the public notice."""
    plan = plans.plan_read(session, plans.get_plan(session, plan_id))
    header = ["申报单位", "统一社会信用代码", "项目类型", "核定金额（元）", "拟支持金额（元）"]
    rows = [[i.unit_name, i.uscc, i.project_type, f"{i.computed_amount:.2f}", f"{i.allocated_amount:.2f}"]
            for i in plan.items]
    name = f"plan-{plan.edition}-v{plan.version}.{format}"
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        content, media = ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    else:
        workbook = Workbook()
        for row in [header, *rows]:
            workbook.active.append(row)
        out = io.BytesIO()
        workbook.save(out)
        content, media = out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/plans/{plan_id}/objections", response_model=ObjectionRead, status_code=201, tags=["notice"],
             dependencies=[Depends(require_roles("applicant", "district_officer", "city_officer", "admin"))],
             responses=problem_responses(401, 403, 404, 409))
def file_objection(plan_id: str, data: ObjectionCreate, session: SessionDep, principal: PrincipalDep,
                   request: Request) -> ObjectionRead:
    """Object to a project of a published plan during its notice (N4.4)."""
    objection = plans.file_objection(session, plan_id, data.project_id, data.statement, data.evidence, principal,
                                     request.app.state.clock)
    return plans.objection_read(objection)


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionRead, tags=["notice"],
             dependencies=[CITY], responses=problem_responses(401, 403, 404, 409))
def resolve_objection(objection_id: str, data: ObjectionResolve, session: SessionDep, principal: PrincipalDep,
                      request: Request) -> ObjectionRead:
    """Uphold (a new plan version that needs a new notice) or dismiss an objection."""
    objection = plans.resolve_objection(session, request.app.state.calculation, objection_id, data.decision,
                                        data.resolution, data.new_amount, principal, request.app.state.clock)
    return plans.objection_read(objection)


FINANCE = Depends(require_roles("finance_officer", "admin"))
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="Unique per intended payment action; a repeat replays")]


def _idempotent(session, key: str | None, body: dict, status_code: int, act, clock) -> JSONResponse:
    """Run `act` once per key: a repeat with the same key and body gets the first answer again."""
    body_hash = payments.request_hash(body)
    record = payments.replay(session, key, body_hash)
    if record is None:
        response = act()
        try:
            payments.remember(session, key, body_hash, status_code, response, clock)
            session.flush()
        except IntegrityError:
            session.rollback()  # the same key won a moment ago in another request: its answer is ours
            record = payments.replay(session, key, body_hash)
        else:
            return JSONResponse(response, status_code=status_code)
    return JSONResponse(record.response, status_code=record.status_code)


def _read(instruction) -> dict:
    return InstructionRead.model_validate(instruction, from_attributes=True).model_dump(mode="json")


@router.post("/plans/{plan_id}/payments", response_model=list[InstructionRead], status_code=201, tags=["payments"],
             dependencies=[FINANCE], responses=problem_responses(400, 401, 403, 404, 409))
def create_payment_instructions(plan_id: str, session: SessionDep, request: Request,
                                idempotency_key: IdempotencyKey = None):
    """The payment instructions of a final plan, in two legs (N4.5); created once, whoever asks how often."""
    state = request.app.state
    return _idempotent(session, idempotency_key, {"plan_id": plan_id}, 201, lambda: [
        _read(i) for i in payments.create_instructions(session, plan_id, state.settings, state.clock)], state.clock)


@router.get("/plans/{plan_id}/payments", response_model=list[InstructionRead], tags=["payments"],
            dependencies=[Depends(require_roles("finance_officer", "city_officer", "admin"))],
            responses=problem_responses(401, 403))
def list_payment_instructions(plan_id: str, session: SessionDep) -> list[InstructionRead]:
    """Every instruction of a plan with its state."""
    return [InstructionRead.model_validate(i, from_attributes=True) for i in payments.instructions_of(session, plan_id)]


@router.post("/payments/statements", response_model=StatementResult, tags=["payments"], dependencies=[FINANCE],
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
             responses=problem_responses(401, 403, 422))
async def record_bank_statement(request: Request, principal: PrincipalDep) -> StatementResult:
    """Record payment results from a bank statement (CSV: end_to_end_id,status,reason)."""
    text = (await request.body()).decode("utf-8-sig", errors="replace")
    result = await run_in_threadpool(_apply_statement, request.app.state, text)
    return StatementResult(**result)


def _apply_statement(state, text: str) -> dict:
    with Session(state.engine) as session:
        result = payments.apply_statement(session, text, state.clock)
        session.commit()
        return result


@router.post("/payments/{instruction_id}/retry", response_model=InstructionRead, status_code=201, tags=["payments"],
             dependencies=[FINANCE], responses=problem_responses(400, 401, 403, 404, 409))
def retry_payment(instruction_id: str, session: SessionDep, request: Request, idempotency_key: IdempotencyKey = None):
    """A new instruction for a failed or returned payment, linked to it; never a second one for the same failure."""
    clock = request.app.state.clock
    return _idempotent(session, idempotency_key, {"retry": instruction_id}, 201,
                       lambda: _read(payments.retry(session, instruction_id, clock)), clock)


@router.get("/plans/{plan_id}/reconciliation", response_model=dict, tags=["payments"],
            dependencies=[Depends(require_roles("finance_officer", "city_officer", "admin"))],
            responses=problem_responses(401, 403, 404))
def reconcile_plan(plan_id: str, session: SessionDep) -> dict:
    """Plan total = paid + pending + failed, per unit and in total, to the fen."""
    return payments.reconciliation(session, plan_id)


@router.post("/clawbacks", response_model=ClawbackRead, status_code=201, tags=["clawbacks"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 503))
def create_clawback(data: ClawbackCreate, session: SessionDep, request: Request) -> ClawbackRead:
    """Demand funds back after fraud or a duplicate application; forged materials also debar the unit (N3.2)."""
    state = request.app.state
    clawback = payments.create_clawback(session, data.project_id, data.amount, data.reason, data.evidence,
                                        data.forged_materials, state.clock)
    if data.forged_materials:
        state.eligibility.debar(clawback.uscc, data.reason, f"clawback {clawback.id}",
                                state.clock.today_in_china().isoformat())
    return ClawbackRead.model_validate(clawback, from_attributes=True)


@router.post("/clawbacks/{clawback_id}/recoveries", response_model=ClawbackRead, tags=["clawbacks"],
             dependencies=[CITY], responses=problem_responses(401, 403, 404, 409))
def record_recovery(clawback_id: str, data: RecoveryIn, session: SessionDep) -> ClawbackRead:
    """Record money recovered, or the referral to the judicial authorities."""
    return ClawbackRead.model_validate(payments.record_recovery(session, clawback_id, data.recovered, data.referred),
                                       from_attributes=True)


def _project(project) -> ProjectRead:
    return ProjectRead.model_validate(project, from_attributes=True)


@router.get("/projects", response_model=Page[ProjectRead], tags=["projects"],
            dependencies=[Depends(require_roles("city_officer", "auditor", "expert", "finance_officer", "admin"))],
            responses=problem_responses(401, 403))
def list_projects(session: SessionDep, principal: PrincipalDep, page: PageDep,
                  edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Edition")] = "2024") -> Page[ProjectRead]:
    """The projects the caller may see (an auditor only those assigned to it)."""
    query = review.scoped_projects(principal).where(Project.edition == edition)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Project.created_at, Project.id).limit(page.limit).offset(page.offset)).all()
    return Page[ProjectRead](items=[_project(p) for p in rows], total=total, limit=page.limit, offset=page.offset)


@router.post("/projects/{project_id}/auditor", response_model=ProjectRead, tags=["audit"], dependencies=[CITY],
             responses=problem_responses(401, 403, 404, 409))
def assign_auditor(project_id: str, data: AuditorAssign, session: SessionDep, principal: PrincipalDep) -> ProjectRead:
    """Commission a third-party auditor for a project (N4.2)."""
    return _project(review.assign_auditor(session, project_id, data.auditor, principal))


@router.post("/projects/{project_id}/audit", response_model=ProjectRead, tags=["audit"],
             dependencies=[Depends(require_roles("auditor", "admin"))], responses=problem_responses(401, 403, 404, 409))
def record_audit_opinion(project_id: str, data: AuditOpinion, session: SessionDep, principal: PrincipalDep,
                         request: Request) -> ProjectRead:
    """The assigned auditor's opinion; the amount is recomputed without the disallowed lines (N4.2)."""
    state = request.app.state
    project = review.record_audit(session, project_id, data.opinion, [d.model_dump() for d in data.disallowed],
                                  data.note, principal, state.intake, state.calculation)
    return _project(project)


@router.post("/spot-checks", response_model=SpotCheckRead, status_code=201, tags=["audit"], dependencies=[CITY],
             responses=problem_responses(401, 403))
def draw_spot_check(data: SpotCheckCreate, session: SessionDep, principal: PrincipalDep,
                    request: Request) -> SpotCheckRead:
    """Draw a reproducible sample of audited projects for the city's spot check (N4.3)."""
    draw = review.draw_spot_check(session, data.edition, data.size, data.seed, principal, request.app.state.clock)
    return SpotCheckRead.model_validate(draw, from_attributes=True)


@router.post("/spot-checks/{spot_check_id}/findings", response_model=ProjectRead, tags=["audit"],
             dependencies=[CITY], responses=problem_responses(401, 403, 404))
def record_spot_check_finding(spot_check_id: str, data: SpotCheckFinding, session: SessionDep,
                              principal: PrincipalDep) -> ProjectRead:
    """A finding on a sampled project; it may change the audited amount."""
    return _project(review.spot_check_finding(session, spot_check_id, data.project_id, data.finding,
                                              data.new_amount, principal))


@router.post("/projects/{project_id}/expert-scores", response_model=ExpertScoreRead, status_code=201,
             tags=["audit"], dependencies=[Depends(require_roles("expert"))],
             responses=problem_responses(401, 403, 404, 409))
def score_project(project_id: str, data: ExpertScoreIn, session: SessionDep, principal: PrincipalDep,
                  request: Request) -> ExpertScoreRead:
    """An expert's scores by criterion; a declared conflict of interest excludes the expert."""
    entry = review.score(session, project_id, data.scores, data.conflict_of_interest, principal,
                         request.app.state.clock)
    return ExpertScoreRead.model_validate(entry, from_attributes=True)
