"""The city's spot checks of audited projects (抽查, N4.3): a seeded, reproducible, recorded sample."""
from __future__ import annotations

import random
import secrets
import uuid
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, NotFound, Unprocessable

from .clients import CalculationClient, IntakeClient
from .models import PlanItem, Project, SpotCheck, SpotCheckFinding
from .projects import final_plan_of, parameter
from .review import recompute
from .schemas import DisallowedLine, SpotCheckFindingIn, SpotCheckFindingRead, SpotCheckRead

METHOD = "CPython random.Random(seed).sample(population, size); population = the audited projects' ids, sorted"
SEVERITY = {None: 0, "confirmed": 1, "adjusted": 2, "failed": 3}


def draw_sample(population: list[str], size: int, seed: int) -> list[str]:
    """The sample a seed draws from a population (the same inputs always give the same sample)."""
    return random.Random(seed).sample(sorted(population), size)


def draw(session: Session, edition: str, size: int | None, seed: int | None, principal: Principal,
         clock: Clock) -> SpotCheck:
    """Sample audited projects not yet in a final plan, reproducibly from the seed, and record the draw (N4.3)."""
    default_size, clause = parameter(edition, "review.spot_check_default_size", clock.today_in_china())
    finalised = select(PlanItem.final_project_id).where(PlanItem.final_project_id.is_not(None))
    population = sorted(session.exec(select(Project.id).where(
        Project.edition == edition, Project.status == "active", Project.audit_opinion.is_not(None),
        Project.id.not_in(finalised))).all())
    if not population:
        raise Conflict(f"No audited project of edition {edition} to sample: record the audit opinions first.",
                       clause="N4.3")
    if size is None:
        size = min(int(default_size), len(population))
    elif size > len(population):
        raise Unprocessable(f"Only {len(population)} audited projects to draw from; asked for {size}.",
                            errors=[{"field": "body.size", "message": f"at most {len(population)}",
                                     "code": "too_big"}])
    seed = secrets.randbelow(2**62) if seed is None else seed
    record = SpotCheck(id=str(uuid.uuid4()), edition=edition, size=size, seed=seed, method=METHOD,
                       population=population, project_ids=draw_sample(population, size, seed),
                       drawn_by=principal.subject, drawn_at=clock.now())
    session.add(record)
    session.flush()
    return record


def record_finding(session: Session, spot_check_id: str, data: SpotCheckFindingIn, principal: Principal,
                   intake: IntakeClient, calculation: CalculationClient, clock: Clock) -> SpotCheckFinding:
    """A finding on a sampled project: confirmed, adjusted (more lines disallowed, recomputed) or failed."""
    spot_check = session.get(SpotCheck, spot_check_id)
    if spot_check is None:
        raise NotFound(f"No spot check {spot_check_id}.")
    if data.project_id not in spot_check.project_ids:
        raise Unprocessable(f"Project {data.project_id} is not in the sample of spot check {spot_check_id}.",
                            errors=[{"field": "body.project_id", "message": "not sampled", "code": "not_sampled"}])
    project = session.exec(select(Project).where(Project.id == data.project_id).with_for_update()).one()
    if final_plan_of(session, project.id) is not None:
        raise Conflict("The project is in a final plan: its result no longer changes; after payment, recover funds "
                       "with a clawback.", clause="N3.3")
    if data.outcome == "adjusted" and project.audit_opinion == "fail":
        raise Conflict("The audit failed this project: there is no amount to adjust.", clause="N4.2")
    before = project.audited_amount
    if data.outcome == "adjusted":
        earlier = [DisallowedLine.model_validate(d) for d in project.audit_disallowed or []]
        seen = {(d.form, d.line_no) for d in earlier}
        combined = earlier + [d for d in data.disallowed if (d.form, d.line_no) not in seen]
        project.audited_amount, project.audit_trace = recompute(intake, calculation, project, combined)
        project.audit_disallowed = [d.model_dump() for d in combined]
    if SEVERITY[data.outcome] > SEVERITY[project.spot_check_outcome]:
        project.spot_check_outcome = data.outcome
    after = Decimal("0.00") if data.outcome == "failed" else project.audited_amount
    finding = SpotCheckFinding(id=str(uuid.uuid4()), spot_check_id=spot_check_id, project_id=project.id,
                               outcome=data.outcome, finding=data.finding,
                               disallowed=[d.model_dump() for d in data.disallowed], amount_before=before,
                               amount_after=after, recorded_by=principal.subject, recorded_at=clock.now())
    session.add(project)
    session.add(finding)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This spot check already has a finding on that project.") from None
    return finding


def spot_check_read(session: Session, spot_check: SpotCheck) -> SpotCheckRead:
    """A spot check with its findings."""
    findings = session.exec(select(SpotCheckFinding).where(SpotCheckFinding.spot_check_id == spot_check.id)
                            .order_by(SpotCheckFinding.recorded_at)).all()
    return SpotCheckRead.model_validate({
        **spot_check.model_dump(),
        "findings": [SpotCheckFindingRead.model_validate(f, from_attributes=True) for f in findings]})
