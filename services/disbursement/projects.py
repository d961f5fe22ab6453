"""Projects taken over from the districts (N4.1 → N4.2), and who may see which."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, false
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.parameters import Edition, UnknownEdition, UnknownParameter, load_edition
from common.problems import Conflict, NotFound, ServiceUnavailable, Unprocessable

from .clients import IntakeClient
from .models import ExpertScore, PlanItem, Project
from .schemas import ImportResult, ProjectRead, SkippedApplication

# roles that see every project of the city's review
CITY_WIDE = frozenset({"city_officer", "finance_officer", "admin", "service"})


def edition_of(name: str) -> Edition:
    """The edition's parameters; 422 when there is no such edition."""
    try:
        return load_edition(name)
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": "edition", "message": "unknown edition",
                                               "code": "unknown_edition"}]) from None


def parameter(edition: str, path: str, on=None) -> tuple[Any, str]:
    """(value, clause) of an edition parameter; a missing one is the edition file's fault, said plainly."""
    try:
        return edition_of(edition).cited(path, on)
    except UnknownParameter as exc:
        raise Conflict(f"The edition's parameters lack {path}: {exc}.") from None


def scoped_projects(principal: Principal):
    """The projects a caller may see, as a query: an auditor its own, an expert all but those it is conflicted on."""
    query = select(Project)
    if principal.role == "auditor":
        return query.where(Project.auditor == principal.subject)
    if principal.role == "expert":
        conflicted = exists().where(ExpertScore.project_id == Project.id, ExpertScore.expert == principal.subject,
                                    ExpertScore.conflict_of_interest)
        return query.where(~conflicted)
    if principal.role in CITY_WIDE:
        return query
    return query.where(false())


def get_project(session: Session, project_id: str, principal: Principal, *, lock: bool = False) -> Project:
    """A project the caller may see; 404 otherwise (also when it exists outside the caller's scope)."""
    query = scoped_projects(principal).where(Project.id == project_id)
    project = session.exec(query.with_for_update() if lock else query).first()
    if project is None:
        raise NotFound(f"No project {project_id}.")
    return project


def final_plan_of(session: Session, project_id: str) -> str | None:
    """The final plan that allocates the project, if any."""
    return session.exec(select(PlanItem.plan_id).where(PlanItem.final_project_id == project_id)).first()


def project_read(project: Project) -> ProjectRead:
    """The API view of a project."""
    amount, standing = project.standing()
    return ProjectRead.model_validate({**project.model_dump(), "plan_amount": amount, "plan_standing": standing})


def import_projects(session: Session, intake: IntakeClient, edition: str, clock: Clock) -> ImportResult:
    """Take over every district-passed application of the edition whose amount is computed (again is harmless)."""
    edition_of(edition)
    present = set(session.exec(select(Project.application_id).where(Project.edition == edition)).all())
    imported, skipped = 0, []
    wanted = [a for a in intake.applications(edition, "district_passed") if a.id not in present]
    # the units in one call per hundred (a call per application took most of an import's time)
    applicants = intake.applicants([a.applicant_id for a in wanted if a.computation is not None])
    for application in wanted:
        if application.computation is None:
            skipped.append(SkippedApplication(application_id=application.id,
                                              reason="its evaluation and computation are still pending at intake"))
            continue
        applicant = applicants.get(application.applicant_id)
        if applicant is None:
            raise ServiceUnavailable(f"The intake service did not return the unit {application.applicant_id} of "
                                     f"application {application.id}.", service="intake")
        session.add(Project(
            id=str(uuid.uuid4()), application_id=application.id, edition=edition, uscc=applicant.uscc,
            unit_name=applicant.name, district_code=applicant.district_code, project_type=application.project_type,
            computed_amount=application.computation.amount,
            eligibility_outcome=application.evaluation.outcome if application.evaluation else None,
            status="active", created_at=clock.now(), bank_account_name=applicant.bank_account_name,
            bank_name=applicant.bank_name, bank_account_number=applicant.bank_account_number))
        imported += 1
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another import of this edition ran at the same time; repeat this one (it takes only what "
                       "is still missing).") from None
    return ImportResult(edition=edition, imported=imported, already_present=len(present), skipped=skipped)
