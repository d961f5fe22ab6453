"""The city's third-party audit and optional expert review of the districts' projects (N4.2)."""
from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, Unprocessable

from .clients import CalculationClient, Dossier, IntakeClient
from .models import ExpertScore, Project
from .projects import final_plan_of, get_project
from .schemas import DisallowedLine, ExpertReviewRead, ExpertScoreIn, ExpertScoreRead


def assign_auditor(session: Session, project_id: str, auditor: str, principal: Principal, clock: Clock) -> Project:
    """Commission the third-party audit of a project (N4.2); reassigning is possible until the opinion is in."""
    project = get_project(session, project_id, principal, lock=True)
    if project.audit_opinion is not None:
        raise Conflict(f"The project's audit opinion is already recorded by {project.audited_by}; the auditor can no "
                       "longer change.", clause="N4.2")
    if project.status != "active":
        raise Conflict("The project was removed after an upheld objection.", clause="N4.4")
    project.auditor, project.auditor_assigned_by, project.auditor_assigned_at = auditor, principal.subject, clock.now()
    session.add(project)
    session.flush()
    return project


def check_lines(dossier: Dossier, lines: list[DisallowedLine]) -> None:
    """422 naming every disallowed line that is not in the dossier's form."""
    errors = [{"field": f"body.disallowed.{i}.line_no", "code": "not_in_dossier",
               "message": f"{line.form} has no line {line.line_no}"}
              for i, line in enumerate(lines) if line.line_no not in dossier.line_numbers(line.form)]
    if errors:
        raise Unprocessable("Disallowed lines must exist in the application's forms: "
                            + "; ".join(e["message"] for e in errors) + ".", errors=errors)


def recompute(intake: IntakeClient, calculation: CalculationClient, project: Project,
              lines: list[DisallowedLine]) -> tuple[Decimal, list[dict]]:
    """Calculation's amount and trace of the project's dossier without the disallowed lines (N4.2)."""
    dossier = intake.dossier(project.application_id)
    check_lines(dossier, lines)
    computation = calculation.compute(dossier, [line.model_dump() for line in lines])
    return computation.amount, computation.trace


def record_audit(session: Session, project_id: str, opinion: str, disallowed: list[DisallowedLine], note: str,
                 principal: Principal, intake: IntakeClient, calculation: CalculationClient, clock: Clock) -> Project:
    """The assigned auditor's opinion; the amount is recomputed by calculation without the disallowed lines."""
    project = get_project(session, project_id, principal, lock=True)  # an auditor finds only its own projects
    if project.audit_opinion is not None:
        raise Conflict(f"The audit opinion was already recorded on {project.audited_at:%Y-%m-%d}; a spot check "
                       "(N4.3) can still change the result.", clause="N4.2")
    if project.status != "active":
        raise Conflict("The project was removed after an upheld objection.", clause="N4.4")
    if opinion == "fail":
        project.audited_amount, project.audit_trace = Decimal("0.00"), None
    else:
        project.audited_amount, project.audit_trace = recompute(intake, calculation, project, disallowed)
    project.audit_opinion, project.audit_note = opinion, note
    project.audit_disallowed = [line.model_dump() for line in disallowed]
    project.audited_by, project.audited_at = principal.subject, clock.now()
    session.add(project)
    session.flush()
    return project


def score(session: Session, project_id: str, data: ExpertScoreIn, principal: Principal, clock: Clock) -> ExpertScore:
    """An expert's scores, or a declared conflict of interest that excludes the expert from the project."""
    project = get_project(session, project_id, principal)  # a conflicted expert no longer finds the project
    if final_plan_of(session, project.id) is not None:
        raise Conflict("The project is already in a final plan; its review is closed.", clause="N4.4")
    entry = ExpertScore(id=str(uuid.uuid4()), project_id=project_id, expert=principal.subject,
                        conflict_of_interest=data.conflict_of_interest, conflict_statement=data.conflict_statement,
                        scores=data.scores, comment=data.comment, scored_at=clock.now())
    session.add(entry)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("You have already scored this project.") from None
    return entry


def expert_review(session: Session, project: Project) -> ExpertReviewRead:
    """Every record of a project's expert review, with averages over the experts not excluded."""
    rows = session.exec(select(ExpertScore).where(ExpertScore.project_id == project.id)
                        .order_by(ExpertScore.scored_at, ExpertScore.expert)).all()
    by_criterion: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if not row.conflict_of_interest:
            for criterion, value in row.scores.items():
                by_criterion[criterion].append(value)
    averages = {c: str((Decimal(sum(v)) / len(v)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
                for c, v in sorted(by_criterion.items())}
    return ExpertReviewRead(project_id=project.id,
                            records=[ExpertScoreRead.model_validate(r, from_attributes=True) for r in rows],
                            excluded_experts=[r.expert for r in rows if r.conflict_of_interest], averages=averages)
