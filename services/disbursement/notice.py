"""Public notice (公示) and objections (N4.3–N4.4): working days on the PRC holiday calendar, then final."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar
from sqlalchemy import and_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.audit import append_event
from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, NotFound, Unprocessable
from common.webhooks import publish as announce

from .clients import CalculationClient
from .models import WEBHOOKS, AuditEvent, AuditHead, Objection, Plan, PlanItem, Project
from .plans import build_plan, get_plan, line_count, lines_digest, stale_items
from .projects import final_plan_of, parameter
from .schemas import ObjectionCreate, ObjectionResolve


class CalendarUnavailable(Conflict):
    """The holiday calendar has no data for the year asked."""


def notice_end(published_on: date, working_days: int) -> date:
    """The last day (included) of a notice of `working_days` PRC working days published on `published_on`."""
    # PRC Civil Code art. 201: the day of publication is not counted, the period starts the next day; working days
    # follow the State Council's holiday arrangement (chinesecalendar: weekends and holidays off, make-up days on)
    day, counted = published_on, 0
    while counted < working_days:
        day += timedelta(days=1)
        try:
            workday = chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise CalendarUnavailable(
                f"The PRC holiday calendar installed (chinesecalendar {chinese_calendar.__version__}) has no data "
                f"for {day.year}, so the end of the notice cannot be computed; update the package.",
                clause="N4.4") from None
        if workday:
            counted += 1
    return day


def _plan_event(plan: Plan) -> dict:
    return {"plan_id": plan.id, "edition": plan.edition, "version": plan.version, "status": plan.status,
            "total": f"{plan.total:.2f}", "notice_ends_on": plan.notice_ends_on}


def publish(session: Session, plan_id: str, principal: Principal, clock: Clock) -> Plan:
    """Start the public notice of a draft; it lasts the edition's number of working days (N4.3, N4.4)."""
    plan = get_plan(session, plan_id, lock=True)
    if plan.status != "draft":
        hint = f" (the current version is {plan.superseded_by})" if plan.superseded_by else ""
        raise Conflict(f"Only a draft is published; this version is {plan.status}{hint}.", clause="N4.3")
    if not line_count(session, plan.id):
        raise Conflict("The version holds no project: audit the projects (N4.2), then make a new version.",
                       clause="N4.3")
    stale = stale_items(session, plan)
    if stale:
        raise Conflict("The version no longer matches its projects; make a new version: " + "; ".join(stale) + ".",
                       clause="N4.3", stale=stale)
    today = clock.today_in_china()
    days, _ = parameter(plan.edition, "review.notice_working_days", today)
    plan.published_on, plan.notice_working_days = today, int(days)
    plan.notice_ends_on = notice_end(today, int(days))
    plan.status, plan.published_by = "published", principal.subject
    session.add(plan)
    announce(session, WEBHOOKS, "plan.published", "plan", plan.id, _plan_event(plan), clock.now())
    session.flush()
    return plan


def file_objection(session: Session, plan_id: str, data: ObjectionCreate, principal: Principal,
                   clock: Clock) -> Objection:
    """An objection to a project of a plan, during its notice (N4.4): who, what, evidence."""
    plan = get_plan(session, plan_id, principal)
    today = clock.today_in_china()
    if plan.status != "published" or today > plan.notice_ends_on:
        until = f", notice until {plan.notice_ends_on}" if plan.notice_ends_on else ""
        raise Conflict(f"Objections are filed during a plan's public notice (this version is {plan.status}{until}).",
                       clause="N4.4")
    in_plan = session.exec(select(PlanItem).where(PlanItem.plan_id == plan_id,
                                                  PlanItem.project_id == data.project_id)).first()
    if in_plan is None:
        raise Unprocessable(f"Project {data.project_id} is not in plan {plan_id}.",
                            errors=[{"field": "body.project_id", "message": "not in this plan", "code": "not_in_plan"}])
    objection = Objection(id=str(uuid.uuid4()), plan_id=plan_id, project_id=data.project_id,
                          filed_by=principal.subject, filed_by_role=principal.role, filed_by_unit=principal.unit_uscc,
                          statement=data.statement, evidence=data.evidence, filed_at=clock.now(), status="open")
    session.add(objection)
    announce(session, WEBHOOKS, "objection.filed", "plan", plan_id,
             {"objection_id": objection.id, "project_id": data.project_id}, objection.filed_at)
    session.flush()
    return objection


def resolve_objection(session: Session, calculation: CalculationClient, objection_id: str, data: ObjectionResolve,
                      principal: Principal, clock: Clock) -> Objection:
    """The city's decision; upheld, the project is removed or its amount changed in a new version (a new notice)."""
    objection = session.exec(select(Objection).where(Objection.id == objection_id).with_for_update()).first()
    if objection is None:
        raise NotFound(f"No objection {objection_id}.")
    if objection.status != "open":
        raise Conflict(f"The objection is already {objection.status}.", clause="N4.4")
    objection.status, objection.resolution = data.decision, data.resolution
    objection.resolved_by, objection.resolved_at = principal.subject, clock.now()
    if data.decision == "upheld":
        project = session.exec(select(Project).where(Project.id == objection.project_id).with_for_update()).one()
        if final_plan_of(session, project.id) is not None:
            raise Conflict("The project is already in a final plan.", clause="N4.4")
        objection.effect, objection.new_amount = data.effect, data.new_amount
        if data.effect == "remove":
            project.status, project.removed_reason = "removed", f"objection {objection.id} upheld: {data.resolution}"
        else:
            project.adjusted_amount = data.new_amount
        session.add(project)
        session.flush()
        objected = get_plan(session, objection.plan_id)
        replacement = build_plan(session, calculation, objected.edition, objected.budget,
                                 {k: Decimal(v) for k, v in objected.type_budgets.items()}
                                 if objected.type_budgets else None, principal, clock)
        objection.new_plan_id = replacement.id
    session.add(objection)
    announce(session, WEBHOOKS, "objection.resolved", "plan", objection.plan_id,
             {"objection_id": objection.id, "decision": data.decision, "new_plan_id": objection.new_plan_id},
             objection.resolved_at)
    session.flush()
    return objection


def finalise(session: Session, plan_id: str, principal: Principal, clock: Clock) -> Plan:
    """Final once the notice has ended and every objection on its projects is resolved (N4.4), else 409."""
    # the 409 lists everything still missing at once, so that the city need not discover it one refusal at a time
    plan = get_plan(session, plan_id, lock=True)
    if plan.status != "published":
        needs = {"draft": "publish it for its notice first", "final": "it is already final",
                 "superseded": f"a newer version replaced it ({plan.superseded_by})"}[plan.status]
        raise Conflict(f"Only a published plan becomes final; this version is {plan.status}: {needs}.",
                       clause="N4.4", missing=[needs])
    missing = []
    if clock.today_in_china() <= plan.notice_ends_on:
        missing.append(f"the notice period ({plan.notice_working_days} working days) runs until "
                       f"{plan.notice_ends_on.isoformat()} included")
    # the open objections on any of its projects, joined rather than listed: a version may hold 100,000 of them
    open_ids = list(session.exec(select(Objection.id).join(PlanItem, and_(
        PlanItem.project_id == Objection.project_id, PlanItem.plan_id == plan.id))
        .where(Objection.status == "open").order_by(Objection.filed_at, Objection.id)).all())
    if open_ids:
        missing.append(f"{len(open_ids)} objection(s) unresolved: {', '.join(open_ids)}")
    missing += stale_items(session, plan)
    if missing:
        raise Conflict("The plan cannot be final yet: " + "; ".join(missing) + ".", clause="N4.4",
                       missing=missing, open_objections=open_ids)
    plan.status, plan.finalised_at, plan.finalised_by = "final", clock.now(), principal.subject
    session.add(plan)
    session.flush()
    # every line marks its project as allocated, in one statement: the unique final_project_id refuses a project that
    # another final plan allocates (N4.5); one audit event names the lines by count and digest, as their creation did
    try:
        session.execute(update(PlanItem).where(PlanItem.plan_id == plan.id)
                        .values(final_project_id=PlanItem.project_id).execution_options(synchronize_session=False))
    except IntegrityError:
        raise Conflict("A project of this version is already allocated by another final plan.",
                       clause="N4.5") from None
    finalised = sorted(session.exec(select(PlanItem.project_id).where(PlanItem.plan_id == plan.id)).all())
    append_event(session, AuditEvent, AuditHead, actor=principal.subject, role=principal.role,
                 resource_type="planitem", resource_id=plan.id, action="finalise_lines", occurred_at=plan.finalised_at,
                 after={"lines": len(finalised), "sha256": lines_digest(finalised)})
    announce(session, WEBHOOKS, "plan.finalised", "plan", plan.id, _plan_event(plan), plan.finalised_at)
    session.flush()
    return plan


def objections_query(edition: str | None, plan_id: str | None, project_id: str | None, status: str | None):
    """Objections matching the filters, as a query."""
    query = select(Objection)
    if edition is not None:
        query = query.join(Plan, Plan.id == Objection.plan_id).where(Plan.edition == edition)
    for column, value in ((Objection.plan_id, plan_id), (Objection.project_id, project_id),
                          (Objection.status, status)):
        if value is not None:
            query = query.where(column == value)
    return query
