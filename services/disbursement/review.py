"""The city's checks of the districts' projects: third-party audit and expert review (N4.2), spot checks (N4.3)."""
from __future__ import annotations

import random
import uuid
from decimal import Decimal

from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, NotFound, Unprocessable

from .clients import CalculationClient, IntakeClient
from .models import ExpertScore, Project, SpotCheck

CITY_ROLES = {"city_officer", "admin", "service", "finance_officer", "expert"}


def scoped_projects(principal: Principal):
    """The projects a caller may see, as a query: an auditor only those assigned to it."""
    query = select(Project)
    if principal.role == "auditor":
        return query.where(Project.auditor == principal.subject)
    if principal.role in CITY_ROLES:
        return query
    return query.where(False)


def get_project(session: Session, project_id: str, principal: Principal) -> Project:
    """A project the caller may see; 404 otherwise."""
    project = session.exec(scoped_projects(principal).where(Project.id == project_id)).first()
    if project is None:
        raise NotFound(f"No project {project_id}.")
    return project


def assign_auditor(session: Session, project_id: str, auditor: str, principal: Principal) -> Project:
    """Commission the third-party audit of a project (N4.2)."""
    project = get_project(session, project_id, principal)
    if project.audit_opinion is not None:
        raise Conflict("The project is already audited.")
    project.auditor = auditor
    session.add(project)
    session.flush()
    return project


def record_audit(session: Session, project_id: str, opinion: str, disallowed: list[dict], note: str,
                 principal: Principal, intake: IntakeClient, calculation: CalculationClient) -> Project:
    """The auditor's opinion; the amount is recomputed by calculation without the disallowed lines (N4.2)."""
    project = get_project(session, project_id, principal)
    if principal.role == "auditor" and project.auditor != principal.subject:
        raise NotFound(f"No project {project_id}.")
    if project.audit_opinion is not None and principal.role == "auditor":
        raise Conflict("The audit opinion is already recorded.")
    if opinion == "pass_with_adjustments" and not disallowed:
        raise Unprocessable("An opinion with adjustments names the disallowed lines.",
                            errors=[{"field": "body.disallowed", "message": "required", "code": "missing"}])
    if opinion == "fail":
        project.audited_amount, project.audit_trace = Decimal("0.00"), None
    else:
        computation = calculation.compute({**intake.dossier(project.application_id), "disallowed": disallowed})
        project.audited_amount, project.audit_trace = Decimal(computation["amount"]), computation["trace"]
    project.audit_opinion, project.audit_note = opinion, note
    session.add(project)
    session.flush()
    return project


def draw_spot_check(session: Session, edition: str, size: int, seed: int, principal: Principal,
                    clock: Clock) -> SpotCheck:
    """A sample of audited projects, reproducible from its seed (N4.3 decision), recorded."""
    audited = sorted(session.exec(select(Project.id).where(Project.edition == edition,
                                                           Project.audit_opinion.is_not(None))).all())
    if size > len(audited):
        raise Unprocessable(f"Only {len(audited)} audited projects to draw from; asked for {size}.",
                            errors=[{"field": "body.size", "message": f"at most {len(audited)}", "code": "too_big"}])
    draw = SpotCheck(id=str(uuid.uuid4()), edition=edition, size=size, seed=seed,
                     project_ids=random.Random(seed).sample(audited, size), drawn_by=principal.subject,
                     drawn_at=clock.now())
    session.add(draw)
    session.flush()
    return draw


def spot_check_finding(session: Session, spot_check_id: str, project_id: str, finding: str,
                       new_amount: Decimal | None, principal: Principal) -> Project:
    """A spot check's finding on a sampled project; it may change the audited result."""
    draw = session.get(SpotCheck, spot_check_id)
    if draw is None or project_id not in draw.project_ids:
        raise NotFound(f"Project {project_id} is not in spot check {spot_check_id}.")
    project = get_project(session, project_id, principal)
    project.audit_note = f"{project.audit_note or ''}\n抽查: {finding}".strip()
    if new_amount is not None:
        project.audited_amount = new_amount
    session.add(project)
    session.flush()
    return project


def score(session: Session, project_id: str, scores: dict, conflict_of_interest: bool, principal: Principal,
          clock: Clock) -> ExpertScore:
    """An expert's scores; a declared conflict of interest excludes the expert from the project."""
    get_project(session, project_id, principal)
    if conflict_of_interest:
        raise Conflict("An expert with a conflict of interest is excluded from reviewing this project.")
    existing = session.exec(select(ExpertScore).where(ExpertScore.project_id == project_id,
                                                      ExpertScore.expert == principal.subject)).first()
    if existing is not None:
        raise Conflict("You have already scored this project.")
    entry = ExpertScore(id=str(uuid.uuid4()), project_id=project_id, expert=principal.subject, scores=scores,
                        scored_at=clock.now())
    session.add(entry)
    session.flush()
    return entry
