"""Allocation plans (N4.3): versions built from the audited amounts, unit caps, then scaling to the fund.

A plan is a versioned document: a change never edits a version, it makes a new one that supersedes the open
(draft or published) version of the edition. A project leaves the pool of new versions once a final plan holds
it, so a later plan of the same edition (a second batch) can never allocate it again.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from common.audit import append_event
from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, NotFound, ServiceUnavailable

from .clients import CalculationClient
from .models import AuditEvent, AuditHead, Plan, PlanItem, Project
from .projects import edition_of
from .schemas import LeftOutProject, PlanItemRead, PlanRead, PlanSummary

# roles that see drafts; everyone else with access sees only what was published (公示)
PLAN_INSIDERS = frozenset({"city_officer", "admin", "service"})
STANDING_COLUMNS = ("id", "uscc", "project_type", "status", "audit_opinion", "spot_check_outcome", "adjusted_amount",
                    "audited_amount", "application_id", "unit_name", "district_code")
ITEM_PROJECT_COLUMNS = ("application_id", "unit_name", "uscc", "district_code", "project_type")
ITEM_FIELDS = tuple(PlanItemRead.model_fields)
ITEM_FIELD_SET = frozenset(ITEM_FIELDS)  # given to model_construct, which otherwise works it out per line


def scoped_plans(principal: Principal):
    """The plan versions a caller may see, as a query."""
    query = select(Plan)
    if principal.role in PLAN_INSIDERS:
        return query
    return query.where(Plan.published_on.is_not(None))


def get_plan(session: Session, plan_id: str, principal: Principal | None = None, *, lock: bool = False) -> Plan:
    """A plan version (the caller may see); 404 otherwise."""
    query = (scoped_plans(principal) if principal is not None else select(Plan)).where(Plan.id == plan_id)
    plan = session.exec(query.with_for_update() if lock else query).first()
    if plan is None:
        raise NotFound(f"No plan {plan_id}.")
    return plan


def open_plan(session: Session, edition: str) -> Plan | None:
    """The edition's draft or published version, if any (at most one)."""
    return session.exec(select(Plan).where(Plan.edition == edition, Plan.status.in_(("draft", "published")))
                        .with_for_update()).first()


def finalised_projects():
    """Ids of the projects some final plan allocates, as a subquery."""
    return select(PlanItem.final_project_id).where(PlanItem.final_project_id.is_not(None))


def build_plan(session: Session, calculation: CalculationClient, edition: str, budget: Decimal,
               type_budgets: dict[str, Decimal] | None, principal: Principal, clock: Clock) -> Plan:
    """A new version from the audited amounts: unit caps, then scaling to the fund (统筹调整), by calculation."""
    # projects awaiting audit, failed by the audit or the spot check, or removed by an objection stay out and are
    # listed with the reason; the new version supersedes the edition's open one
    edition_of(edition)
    # the columns a plan reads, as rows (100,000 projects loaded as ORM objects took ~8 s); Project.standing reads
    # its fields by name, so it judges a row as it judges a loaded project
    projects = session.execute(select(*(getattr(Project, c) for c in STANDING_COLUMNS))
                               .where(Project.edition == edition, Project.id.not_in(finalised_projects()))
                               .order_by(Project.created_at, Project.id)).all()
    included: list[tuple[Project, Decimal, str]] = []
    left_out: list[dict] = []
    for project in projects:
        amount, standing = Project.standing(project)
        if amount is None:
            left_out.append(LeftOutProject(project_id=project.id, application_id=project.application_id,
                                           unit_name=project.unit_name, reason=standing).model_dump())
        else:
            included.append((project, amount, standing))
    if type_budgets:
        missing = sorted({p.project_type for p, _, _ in included} - set(type_budgets))
        if missing:
            raise Conflict(f"The type budgets leave out project types that have projects: {', '.join(missing)}.",
                           clause="N4.3")
    capped: dict[str, Decimal] = {}
    allocated: dict[str, Decimal] = {}
    caps_trace: list = []
    scaling_trace: list = []
    factor = "1"
    if included:
        caps = calculation.unit_caps(edition, [{"key": p.id, "uscc": p.uscc, "project_type": p.project_type,
                                                "amount": f"{amount:.2f}"} for p, amount, _ in included])
        capped = {item.key: item.capped_amount for item in caps.items}
        scaled = calculation.budget_scaling(
            f"{budget:.2f}", [{"key": p.id, "amount": f"{capped[p.id]:.2f}", "project_type": p.project_type}
                              for p, _, _ in included],
            {k: f"{v:.2f}" for k, v in type_budgets.items()} if type_budgets else None)
        allocated = {item.key: item.allocated for item in scaled.items}
        if set(allocated) != set(capped) or sum(allocated.values(), Decimal("0.00")) > budget:
            raise ServiceUnavailable("The calculation service answered a scaling that does not fit the budget; nothing "
                                     "was recorded.", service="calculation")
        caps_trace, scaling_trace, factor = caps.trace, scaled.trace, scaled.factor
    current = open_plan(session, edition)
    version = (session.exec(select(func.max(Plan.version)).where(Plan.edition == edition)).one() or 0) + 1
    plan = Plan(id=str(uuid.uuid4()), edition=edition, version=version, status="draft", budget=budget,
                type_budgets={k: f"{v:.2f}" for k, v in type_budgets.items()} if type_budgets else None,
                total=sum(allocated.values(), Decimal("0.00")), scaling_factor=factor, unit_caps_trace=caps_trace,
                scaling_trace=scaling_trace, left_out=left_out, previous_id=current.id if current else None,
                created_by=principal.subject, created_at=clock.now())
    if current is not None:
        current.status, current.superseded_by = "superseded", plan.id
        session.add(current)
        session.flush()
    session.add(plan)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another version of this edition's plan was made at the same time; look at the latest "
                       "version and try again.") from None
    # the lines in one bulk INSERT, and one audit event for all of them that names their digest: an ORM object and an
    # audit event per line took ~40 s for 100,000 lines, and the digest still shows any later change to a line
    lines = [{"plan_id": plan.id, "project_id": project.id, "basis": basis, "computed_amount": amount,
              "capped_amount": capped[project.id], "allocated_amount": allocated[project.id]}
             for project, amount, basis in included]
    if lines:
        insert_lines(session, lines)
    append_event(session, AuditEvent, AuditHead, actor=principal.subject, role=principal.role,
                 resource_type="planitem", resource_id=plan.id, action="create_lines", occurred_at=plan.created_at,
                 after={"lines": len(lines), "sha256": lines_digest(lines)})
    return plan


def insert_lines(session: Session, lines: list[dict]) -> None:
    """A plan's lines written in the session's transaction: COPY on PostgreSQL (a multi-row INSERT of 100,000 lines
    took ~2.5 s, COPY a tenth of it), a bulk INSERT elsewhere."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(PlanItem), lines)
        return
    columns = ("plan_id", "project_id", "basis", "computed_amount", "capped_amount", "allocated_amount")
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            f"COPY {PlanItem.__table__.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for line in lines:
            copy.write_row(tuple(line[c] for c in columns))


def lines_digest(lines: list[dict]) -> str:
    """SHA-256 of a plan's lines in a canonical form (project, basis, the three amounts), kept by its audit event."""
    # amounts are Decimals to the fen already (two places), so their text is the fixed-point form
    canonical = [[line["project_id"], line["basis"], str(line["computed_amount"]), str(line["capped_amount"]),
                  str(line["allocated_amount"])] for line in lines]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def items_with_projects(session: Session, plan_id: str) -> list[tuple[PlanItem, Project]]:
    """A plan's items with their projects, by unit name."""
    return list(session.exec(select(PlanItem, Project).join(Project, Project.id == PlanItem.project_id)
                             .where(PlanItem.plan_id == plan_id).order_by(Project.unit_name, Project.id)).all())


def stale_items(session: Session, plan: Plan) -> list[str]:
    """Why the version no longer matches its projects (a spot check or objection changed one since it was made)."""
    reasons = []
    for item, project in items_with_projects(session, plan.id):
        amount, standing = project.standing()
        if amount is None:
            reasons.append(f"project {project.id} ({project.unit_name}) {standing}")
        elif amount != item.computed_amount:
            reasons.append(f"project {project.id} ({project.unit_name}) is now {amount:.2f}, the version has "
                           f"{item.computed_amount:.2f}")
    return reasons


def plan_read(session: Session, plan: Plan) -> PlanRead:
    """A plan version with its items."""
    # columns, not objects; the values come typed from the database, so the lines are built without validation (for
    # 100,000 lines each step took seconds)
    rows = [row._asdict() for row in session.execute(
        select(PlanItem.project_id, PlanItem.basis, PlanItem.computed_amount, PlanItem.capped_amount,
               PlanItem.allocated_amount, *(getattr(Project, c) for c in ITEM_PROJECT_COLUMNS))
        .join(Project, Project.id == PlanItem.project_id).where(PlanItem.plan_id == plan.id)
        .order_by(Project.unit_name, Project.id))]
    items = [PlanItemRead.model_construct(_fields_set=ITEM_FIELD_SET, **{k: row[k] for k in ITEM_FIELDS})
             for row in rows]
    return PlanRead.model_validate({**plan.model_dump(), "items": items})


def plan_summary(plan: Plan) -> PlanSummary:
    """A plan version without its items."""
    return PlanSummary.model_validate(plan, from_attributes=True)
