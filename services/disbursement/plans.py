"""Allocation plans (N4.3): versions built from the audited amounts, unit caps, then scaling to the fund.

A plan is a versioned document: a change never edits a version, it makes a new one that supersedes the open
(draft or published) version of the edition. A project leaves the pool of new versions once a final plan holds
it, so a later plan of the same edition (a second batch) can never allocate it again.
"""
from __future__ import annotations

import functools
import hashlib
import json
import uuid
from decimal import Decimal

from pydantic_core import to_json
from sqlalchemy import Text, bindparam, cast, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from common.audit import append_event
from common.auth import Principal
from common.clock import Clock
from common.pagination import Page, PageParams
from common.money import fens_of_texts, to_fens
from common.problems import Conflict, NotFound, ServiceUnavailable

from .clients import CalculationClient
from .models import AuditEvent, AuditHead, Plan, PlanItem, Project, standing_of
from .projects import edition_of
from .schemas import PlanHead, PlanItemRead, PlanRead, PlanSummary

# roles that see drafts; everyone else with access sees only what was published (公示)
PLAN_INSIDERS = frozenset({"city_officer", "admin", "service"})
# a project's id, unit, type and names, then the columns of its standing (standing_of's arguments, in order)
PLAN_COLUMNS = ("id", "uscc", "project_type", "application_id", "unit_name", "status", "audit_opinion",
                "spot_check_outcome", "adjusted_amount", "audited_amount")
STANDING_COLUMNS = PLAN_COLUMNS[5:]  # standing_of's arguments
COPY_BLOCK = 10_000  # lines per write to COPY
ITEM_LINE_COLUMNS = ("project_id", "basis", "computed_amount", "capped_amount", "allocated_amount")
ITEM_PROJECT_COLUMNS = ("application_id", "unit_name", "uscc", "district_code", "project_type")
ITEM_FIELD_SET = frozenset(PlanItemRead.model_fields)  # given to model_construct, which otherwise works it out per line


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


def finalised(project_id):
    """Whether some final plan allocates the project: an EXISTS on the unique final_project_id.

    As `NOT IN (the finalised ids)` PostgreSQL planned it, before the lines' statistics were gathered, as a scan of
    every plan line per project (an edition's plan with three earlier versions: 400,000 lines, 2.8 s to read its
    100,000 projects); NOT EXISTS is planned as an anti-join whatever the statistics (0.5 s)."""
    return select(PlanItem.plan_id).where(PlanItem.final_project_id == project_id).exists()


def build_plan(session: Session, calculation: CalculationClient, edition: str, budget: Decimal,
               type_budgets: dict[str, Decimal] | None, principal: Principal, clock: Clock) -> Plan:
    """A new version from the audited amounts: unit caps, then scaling to the fund (统筹调整), by calculation."""
    # projects awaiting audit, failed by the audit or the spot check, or removed by an objection stay out and are
    # listed with the reason; the new version supersedes the edition's open one
    edition_of(edition)
    rows = plan_rows(session, edition)
    keys: list[str] = []
    usccs: list[str] = []
    project_types: list[str] = []
    computed: list[str] = []
    bases: list[str] = []
    left_out: list[dict] = []
    for project_id, uscc, project_type, application_id, unit_name, *standing_columns in rows:
        amount, standing = standing_of(*standing_columns)
        if amount is None:
            left_out.append({"project_id": project_id, "application_id": application_id, "unit_name": unit_name,
                             "reason": standing})
        else:
            keys.append(project_id)
            usccs.append(uscc)
            project_types.append(project_type)
            computed.append(amount)
            bases.append(standing)
    if type_budgets:
        missing = sorted(set(project_types) - set(type_budgets))
        if missing:
            raise Conflict(f"The type budgets leave out project types that have projects: {', '.join(missing)}.",
                           clause="N4.3")
    capped: list[str] = []
    allocated: list[str] = []
    total = Decimal("0.00")
    caps_trace: list = []
    scaling_trace: list = []
    factor = "1"
    if keys:
        # one call with the projects as columns (two calls with an object per project took ~5 s for 100,000)
        allocation = calculation.allocate(
            edition, f"{budget:.2f}", {k: f"{v:.2f}" for k, v in type_budgets.items()} if type_budgets else None,
            {"keys": keys, "usccs": usccs, "project_types": project_types, "amounts": computed})
        capped, allocated = allocation.capped_amounts, allocation.allocated_amounts
        total = allocation.total_allocated
        if total > budget or sum(fens_of_texts(allocated)) != to_fens(total):
            raise ServiceUnavailable("The calculation service answered a scaling that does not fit the budget; nothing "
                                     "was recorded.", service="calculation")
        caps_trace, scaling_trace, factor = allocation.unit_caps_trace, allocation.scaling_trace, allocation.factor
    current = open_plan(session, edition)
    version = (session.exec(select(func.max(Plan.version)).where(Plan.edition == edition)).one() or 0) + 1
    plan = Plan(id=str(uuid.uuid4()), edition=edition, version=version, status="draft", budget=budget,
                type_budgets={k: f"{v:.2f}" for k, v in type_budgets.items()} if type_budgets else None,
                total=total, scaling_factor=factor, unit_caps_trace=caps_trace,
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
    # the lines in one bulk write, and one audit event for all of them that names their digest: an ORM object and an
    # audit event per line took ~40 s for 100,000 lines, and the digest still shows any later change to a line
    lines = list(zip(keys, bases, computed, capped, allocated))
    if lines:
        insert_lines(session, plan.id, lines)
    append_event(session, AuditEvent, AuditHead, actor=principal.subject, role=principal.role,
                 resource_type="planitem", resource_id=plan.id, action="create_lines", occurred_at=plan.created_at,
                 after={"lines": len(lines), "sha256": lines_digest(lines)})
    return plan


def plan_rows(session: Session, edition: str) -> list[tuple]:
    """The projects a plan reads (PLAN_COLUMNS) as plain rows in their order, the two amounts as two-place text.

    100,000 projects loaded as ORM objects took ~8 s, and their fields read by name ~1 s; on PostgreSQL the rows are
    read on the driver's cursor with the amounts cast to text in the query (0.27 s instead of 0.41 s through
    SQLAlchemy's rows and Decimals, which the plan writes back as text anyway)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            return cursor.execute(_compiled(connection.dialect), {"edition": edition}).fetchall()
    return [(*row[:-2], *(None if amount is None else f"{amount:.2f}" for amount in row[-2:]))
            for row in connection.execute(_plan_query(), {"edition": edition})]


def _plan_query(postgresql: bool = False):
    """The query of plan_rows; on PostgreSQL with the amounts cast to text and the ids ordered byte by byte.

    The order is the projects' creation, then their ids compared as bytes, which is how SQLite compares them: the
    database's collation (C.UTF-8 here, en_US elsewhere) made PostgreSQL compare 100,000 ids with strcoll, in a sort
    spilled to disk (~0.3 s of the query's 0.4 s); bytewise it is a plain memory comparison, and the same order on
    every server (scaling gives a tie's fen to the earlier project, N4.3)."""
    amounts = [getattr(Project, c) for c in PLAN_COLUMNS[-2:]]
    return (select(*(getattr(Project, c) for c in PLAN_COLUMNS[:-2]),
                   *(cast(a, Text) for a in amounts) if postgresql else amounts)
            .where(Project.edition == bindparam("edition"), ~finalised(Project.id))
            .order_by(Project.created_at, Project.id.collate("C") if postgresql else Project.id))


@functools.lru_cache(maxsize=2)
def _compiled(dialect) -> str:
    # PostgreSQL's numeric(18, 2) as text is always two places
    return str(_plan_query(postgresql=True).compile(dialect=dialect))


def insert_lines(session: Session, plan_id: str, lines: list[tuple[str, ...]]) -> None:
    """A plan's lines (project, basis, computed, capped, allocated; amounts as two-place text) written in the
    session's transaction: COPY on PostgreSQL, a bulk INSERT elsewhere."""
    connection = session.connection()
    columns = ("plan_id", "project_id", "basis", "computed_amount", "capped_amount", "allocated_amount")
    if connection.dialect.name != "postgresql":
        session.execute(insert(PlanItem), [
            {"plan_id": plan_id, "project_id": project_id, "basis": basis, "computed_amount": Decimal(amount),
             "capped_amount": Decimal(capped), "allocated_amount": Decimal(allocated)}
            for project_id, basis, amount, capped, allocated in lines])
        return
    # COPY's text form written in blocks (a row at a time through write_row took ~0.4 s for 100,000 lines); the
    # amounts are checked digits, the basis a word of ours, and an id with a character COPY would read as a
    # delimiter or an escape goes row by row instead. In project order, the unique (plan_id, project_id) index grows
    # at its end instead of at random places: 100,000 lines took ~0.15 s less to write (the sort costs ~0.03 s), and
    # nothing reads the lines in the order they were written
    lines = sorted(lines)
    ids = "".join([line[0] for line in lines])
    plain = not any(character in ids for character in "\\\t\n\r")
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            f"COPY {PlanItem.__table__.name} ({', '.join(columns)}) FROM STDIN") as copy:
        if not plain:
            for line in lines:
                copy.write_row((plan_id, *line))
            return
        for start in range(0, len(lines), COPY_BLOCK):
            copy.write("".join(f"{plan_id}\t{project_id}\t{basis}\t{amount}\t{capped}\t{allocated}\n"
                               for project_id, basis, amount, capped, allocated in lines[start:start + COPY_BLOCK]))


def lines_digest(lines: list) -> str:
    """SHA-256 of a plan's lines in a canonical form, kept by their audit event: a compact JSON array of
    [project, basis, computed, capped, allocated] with the amounts as two-place text (their creation), or of the
    project ids (their final marks)."""
    # pydantic-core writes the same compact JSON as json.dumps(separators=(",", ":")) in a fifth of the time (100,000
    # lines: ~0.1 s), except for DEL and the characters beyond ASCII, which json.dumps escapes: a line with any goes
    # that way
    text = to_json(lines)
    if not text.isascii() or b"\x7f" in text:
        text = json.dumps(lines, separators=(",", ":")).encode()
    return hashlib.sha256(text).hexdigest()


def items_with_projects(session: Session, plan_id: str) -> list[tuple[PlanItem, Project]]:
    """A plan's items with their projects, by unit name."""
    return list(session.exec(select(PlanItem, Project).join(Project, Project.id == PlanItem.project_id)
                             .where(PlanItem.plan_id == plan_id).order_by(Project.unit_name, Project.id)).all())


def stale_items(session: Session, plan: Plan) -> list[str]:
    """Why the version no longer matches its projects (a spot check or objection changed one since it was made)."""
    # plain rows judged by the projects' own rule (standing_of): a version of an edition holds up to 100,000 lines
    rows = session.execute(select(PlanItem.computed_amount, Project.id, Project.unit_name,
                                  *(getattr(Project, c) for c in STANDING_COLUMNS))
                           .join(Project, Project.id == PlanItem.project_id).where(PlanItem.plan_id == plan.id)
                           .order_by(Project.unit_name, Project.id))
    reasons = []
    for computed, project_id, unit_name, *standing_columns in rows:
        amount, standing = standing_of(*standing_columns)
        if amount is None:
            reasons.append(f"project {project_id} ({unit_name}) {standing}")
        elif amount != computed:
            reasons.append(f"project {project_id} ({unit_name}) is now {amount:.2f}, the version has {computed:.2f}")
    return reasons


def plan_lines(session: Session, plan_id: str, page: PageParams | None = None) -> list[PlanItemRead]:
    """A plan's lines with their projects, by unit name (one page of them, or all)."""
    # columns, not objects; the values come typed from the database, so the lines are built without validation (for
    # 100,000 lines each step took seconds)
    query = (select(*(getattr(PlanItem, c) for c in ITEM_LINE_COLUMNS),
                    *(getattr(Project, c) for c in ITEM_PROJECT_COLUMNS))
             .join(Project, Project.id == PlanItem.project_id).where(PlanItem.plan_id == plan_id)
             .order_by(Project.unit_name, Project.id))
    if page is not None:
        query = query.limit(page.limit).offset(page.offset)
    names = ITEM_LINE_COLUMNS + ITEM_PROJECT_COLUMNS
    return [PlanItemRead.model_construct(_fields_set=ITEM_FIELD_SET, **dict(zip(names, row)))
            for row in session.execute(query)]


def line_count(session: Session, plan_id: str) -> int:
    """How many lines a plan has."""
    return session.exec(select(func.count()).select_from(PlanItem).where(PlanItem.plan_id == plan_id)).one()


def plan_read(session: Session, plan: Plan) -> PlanRead:
    """A plan version with its lines."""
    items = plan_lines(session, plan.id)
    return PlanRead.model_validate({**plan.model_dump(), "item_count": len(items), "items": items})


def plan_head(session: Session, plan: Plan) -> PlanHead:
    """A plan version without its lines, with their count."""
    return PlanHead.model_validate({**plan.model_dump(), "item_count": line_count(session, plan.id)})


def plan_items(session: Session, plan_id: str, page: PageParams) -> Page[PlanItemRead]:
    """One page of a plan's lines, by unit name."""
    return Page[PlanItemRead](items=plan_lines(session, plan_id, page), total=line_count(session, plan_id),
                              limit=page.limit, offset=page.offset)


def plan_summary(plan: Plan) -> PlanSummary:
    """A plan version without its items."""
    return PlanSummary.model_validate(plan, from_attributes=True)
