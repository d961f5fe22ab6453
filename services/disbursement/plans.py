"""The city's half up to the final plan: projects taken over, the allocation plan (N4.3), notice and objections (N4.4)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar
from sqlmodel import Session, func, select

from common.auth import Principal
from common.clock import Clock
from common.parameters import load_edition
from common.problems import Conflict, NotFound, Unprocessable
from common.webhooks import publish as announce

from .clients import CalculationClient, IntakeClient
from .models import WEBHOOKS, Objection, Plan, PlanItem, Project
from .schemas import ImportResult, ObjectionRead, PlanItemRead, PlanRead


def import_projects(session: Session, intake: IntakeClient, edition: str, clock: Clock) -> ImportResult:
    """Take over every district-passed application of the edition whose amount is computed (idempotent)."""
    present = set(session.exec(select(Project.application_id).where(Project.edition == edition)).all())
    imported, skipped = 0, []
    for application in intake.applications(edition, "district_passed"):
        if application["id"] in present:
            continue
        amount = (application.get("computation") or {}).get("amount")
        if amount is None:
            skipped.append({"application_id": application["id"], "why": "its evaluation is still pending"})
            continue
        applicant = intake.applicant(application["applicant_id"])
        session.add(Project(id=str(uuid.uuid4()), application_id=application["id"], edition=edition,
                            uscc=applicant["uscc"], unit_name=applicant["name"],
                            district_code=applicant["district_code"], project_type=application["project_type"],
                            computed_amount=Decimal(amount), status="active", created_at=clock.now(),
                            bank_account_name=applicant["bank_account_name"], bank_name=applicant["bank_name"],
                            bank_account_number=applicant["bank_account_number"]))
        imported += 1
    session.flush()
    return ImportResult(imported=imported, already_present=len(present), skipped=skipped)


def build_plan(session: Session, calculation: CalculationClient, edition: str, budget: Decimal,
               principal: Principal, clock: Clock, *, overrides: dict[str, Decimal | None] | None = None,
               previous: Plan | None = None) -> Plan:
    """A new plan version: unit caps, then scaling to the fund (统筹调整), both computed by calculation.

    `overrides` sets a project's amount, or removes it with None (an upheld objection).
    """
    overrides = overrides or {}
    projects = session.exec(select(Project).where(Project.edition == edition, Project.status == "active")
                            .order_by(Project.created_at, Project.id)).all()
    # an audit that failed a project (N4.2) keeps it out of the plan
    projects = [p for p in projects if p.audit_opinion != "fail" and overrides.get(p.id, p.plan_amount()) is not None]
    if not projects:
        raise Conflict(f"No projects of edition {edition} to plan: import the district-passed ones first.")
    amounts = {p.id: overrides.get(p.id, p.plan_amount()) for p in projects}
    capped = calculation.unit_caps(edition, [{"key": p.id, "uscc": p.uscc, "project_type": p.project_type,
                                              "amount": f"{amounts[p.id]:.2f}"} for p in projects])
    capped_by_key = {i["key"]: Decimal(i["capped_amount"]) for i in capped["items"]}
    scaled = calculation.budget_scaling(f"{budget:.2f}", [{"key": k, "amount": f"{v:.2f}"}
                                                         for k, v in capped_by_key.items()])
    version = (session.exec(select(func.max(Plan.version)).where(Plan.edition == edition)).one() or 0) + 1
    plan = Plan(id=str(uuid.uuid4()), edition=edition, version=version, status="draft", budget=budget,
                total=Decimal(scaled["total_allocated"]), scaling_factor=scaled["factor"],
                previous_id=previous.id if previous else None, created_by=principal.subject, created_at=clock.now())
    session.add(plan)
    session.flush()
    for item in scaled["items"]:
        session.add(PlanItem(plan_id=plan.id, project_id=item["key"], computed_amount=amounts[item["key"]],
                             capped_amount=capped_by_key[item["key"]], allocated_amount=Decimal(item["allocated"])))
    session.flush()
    return plan


def get_plan(session: Session, plan_id: str, *, lock: bool = False) -> Plan:
    """A plan version; 404 when absent."""
    query = select(Plan).where(Plan.id == plan_id)
    plan = session.exec(query.with_for_update() if lock else query).first()
    if plan is None:
        raise NotFound(f"No plan {plan_id}.")
    return plan


def plan_read(session: Session, plan: Plan) -> PlanRead:
    """A plan with its items."""
    rows = session.exec(select(PlanItem, Project).join(Project, Project.id == PlanItem.project_id)
                        .where(PlanItem.plan_id == plan.id).order_by(Project.unit_name, Project.id)).all()
    items = [PlanItemRead(project_id=p.id, application_id=p.application_id, unit_name=p.unit_name, uscc=p.uscc,
                          project_type=p.project_type, computed_amount=i.computed_amount,
                          capped_amount=i.capped_amount, allocated_amount=i.allocated_amount) for i, p in rows]
    return PlanRead(items=items, **plan.model_dump(exclude={"created_by", "created_at"}))


def notice_end(published_on: date, working_days: int) -> date:
    """The last day of a notice of `working_days` PRC working days starting the day after publication."""
    day, counted = published_on, 0
    while counted < working_days:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            counted += 1
    return day


def publish(session: Session, plan_id: str, clock: Clock) -> Plan:
    """Start the public notice (公示) of a draft; the notice lasts the edition's working days (N4.4)."""
    plan = get_plan(session, plan_id, lock=True)
    if plan.status != "draft":
        raise Conflict(f"Only a draft is published; this plan is {plan.status}.")
    days, clause = load_edition(plan.edition).cited("review.notice_working_days")
    plan.published_on = clock.today_in_china()
    plan.notice_ends_on = notice_end(plan.published_on, days)
    plan.status = "published"
    session.add(plan)
    announce(session, WEBHOOKS, "plan.published", "plan", plan.id, _plan_event(plan), clock.now())
    session.flush()
    return plan


def _plan_event(plan: Plan) -> dict:
    return {"plan_id": plan.id, "edition": plan.edition, "version": plan.version, "status": plan.status,
            "total": f"{plan.total:.2f}", "notice_ends_on": plan.notice_ends_on}


def file_objection(session: Session, plan_id: str, project_id: str, statement: str, evidence: str | None,
                   principal: Principal, clock: Clock) -> Objection:
    """An objection during the notice period (N4.4)."""
    plan = get_plan(session, plan_id)
    today = clock.today_in_china()
    if plan.status != "published" or today > plan.notice_ends_on:
        raise Conflict("Objections are filed during a plan's public notice "
                       f"(this plan is {plan.status}, notice until {plan.notice_ends_on}).", clause="N4.4")
    in_plan = session.exec(select(PlanItem).where(PlanItem.plan_id == plan_id,
                                                  PlanItem.project_id == project_id)).first()
    if in_plan is None:
        raise Unprocessable(f"Project {project_id} is not in plan {plan_id}.",
                            errors=[{"field": "body.project_id", "message": "not in this plan", "code": "value_error"}])
    objection = Objection(id=str(uuid.uuid4()), plan_id=plan_id, project_id=project_id, filed_by=principal.subject,
                          statement=statement, evidence=evidence, filed_at=clock.now(), status="open")
    session.add(objection)
    announce(session, WEBHOOKS, "objection.filed", "plan", plan_id,
             {"objection_id": objection.id, "project_id": project_id}, objection.filed_at)
    session.flush()
    return objection


def resolve_objection(session: Session, calculation: CalculationClient, objection_id: str, decision: str,
                      resolution: str, new_amount: Decimal | None, principal: Principal, clock: Clock) -> Objection:
    """Record the city's decision; an upheld objection makes a new plan version that needs a new notice."""
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound(f"No objection {objection_id}.")
    if objection.status != "open":
        raise Conflict(f"The objection is already {objection.status}.")
    objection.status, objection.resolution = decision, resolution
    objection.resolved_by, objection.resolved_at = principal.subject, clock.now()
    if decision == "upheld":
        plan = get_plan(session, objection.plan_id, lock=True)
        replacement = build_plan(session, calculation, plan.edition, plan.budget, principal, clock,
                                 overrides={objection.project_id: new_amount}, previous=plan)
        plan.status = "superseded"
        session.add(plan)
        objection.new_plan_id = replacement.id
    session.add(objection)
    announce(session, WEBHOOKS, "objection.resolved", "plan", objection.plan_id,
             {"objection_id": objection.id, "decision": decision, "new_plan_id": objection.new_plan_id},
             objection.resolved_at)
    session.flush()
    return objection


def finalise(session: Session, plan_id: str, clock: Clock) -> Plan:
    """Final once the notice has ended and every objection is resolved (N4.4); 409 saying what is missing."""
    plan = get_plan(session, plan_id, lock=True)
    if plan.status != "published":
        raise Conflict(f"Only a published plan becomes final; this one is {plan.status}.", clause="N4.4")
    missing = []
    if clock.today_in_china() <= plan.notice_ends_on:
        missing.append(f"the notice period runs until {plan.notice_ends_on.isoformat()}")
    open_ids = session.exec(select(Objection.id).where(Objection.plan_id == plan_id,
                                                       Objection.status == "open")).all()
    if open_ids:
        missing.append(f"{len(open_ids)} objection(s) unresolved: {', '.join(open_ids)}")
    if missing:
        raise Conflict("The plan cannot be final yet: " + "; ".join(missing) + ".", clause="N4.4",
                       open_objections=list(open_ids))
    plan.status, plan.finalised_at = "final", clock.now()
    session.add(plan)
    announce(session, WEBHOOKS, "plan.finalised", "plan", plan.id, _plan_event(plan), plan.finalised_at)
    session.flush()
    return plan


def objection_read(objection: Objection) -> ObjectionRead:
    """The API view of an objection."""
    return ObjectionRead.model_validate(objection, from_attributes=True)
