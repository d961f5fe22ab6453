"""Evaluating dossiers against the edition's rules, with the registries as of the reference date."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session, select

from common.clock import Clock, china_date
from common.parameters import UnknownEdition, load_edition
from common.problems import Unprocessable

from . import rules
from .dossier import Dossier
from .models import ClaimedInvoice, ClaimedProject, CreditEntry, Debarment, Evaluation, RecognisedBase
from .schemas import CheckRead, EvaluationRead


def edition_of(name: str):
    """The edition's parameters, or a 422 naming the editions there are."""
    try:
        return load_edition(name)
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": "body.edition", "message": str(exc), "code": "enum"}]) from None


def reference_date(dossier: Dossier, edition, clock: Clock) -> date:
    """POLICY.md: the submission date; for a pre-check, the earlier of today and the applicant deadline."""
    if dossier.submitted_at is not None:
        return china_date(dossier.submitted_at)
    return min(clock.today_in_china(), edition.value("deadlines.applicant_submission"))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def registry_facts(session: Session, dossier: Dossier, edition, on: date) -> rules.RegistryFacts:
    """What the registries hold against the unit on the reference date."""
    uscc = dossier.applicant.uscc
    since = _years_before(on, edition.value("registries.credit_lookback_years"))
    credit = [e for e in session.exec(select(CreditEntry).where(CreditEntry.uscc == uscc)).all()
              if e.listed_on <= on and (e.delisted_on is None or e.delisted_on >= since)]  # overlaps the five years
    debarred = [x for x in session.exec(select(Debarment).where(Debarment.uscc == uscc)).all()
                if x.starts_on <= on < x.ends_on]
    base = session.exec(select(RecognisedBase).where(RecognisedBase.uscc == uscc)).first()
    return rules.RegistryFacts(
        reference_date=on,
        credit_hits=[{"kind": e.kind, "source": e.source, "listed_on": e.listed_on.isoformat(),
                      "delisted_on": e.delisted_on.isoformat() if e.delisted_on else None} for e in credit],
        debarments=[{"reason": x.reason, "starts_on": x.starts_on.isoformat(), "ends_on": x.ends_on.isoformat()}
                    for x in debarred],
        recognised_base={"base_name": base.base_name} if base else None,
        duplicate_invoices=duplicate_invoices(session, dossier),
        duplicate_projects=duplicate_projects(session, dossier))


def project_key(dossier: Dossier) -> str:
    """What names a project across applications: its platform's name, spaces and case aside."""
    platform = dossier.content.f2_platform
    return "".join(platform.platform_name.split()).lower() if platform and platform.platform_name else ""


def duplicate_projects(session: Session, dossier: Dossier) -> list[dict]:
    """N3.3: other applications of the edition by the same unit for the same type, or declaring the same platform."""
    query = select(ClaimedProject).where(ClaimedProject.edition == dossier.edition)
    if dossier.application_id:
        query = query.where(ClaimedProject.application_id != dossier.application_id)
    key = project_key(dossier)
    same_unit = (ClaimedProject.uscc == dossier.applicant.uscc) & (ClaimedProject.project_type == dossier.project_type)
    query = query.where(same_unit | (ClaimedProject.project_key == key) if key else same_unit)
    return [{"application_id": c.application_id, "uscc": c.uscc, "project_type": c.project_type,
             "why": "the same platform" if key and c.project_key == key else "the same unit and project type"}
            for c in session.exec(query).all()]


def duplicate_invoices(session: Session, dossier: Dossier) -> list[dict]:
    """N3.3: invoice numbers this dossier claims twice, or that another application of the edition claims."""
    lines = dossier.content.f3_expenses or []
    seen: dict[str, int] = {}
    found = []
    for line in lines:
        if line.invoice_number in seen:
            found.append({"invoice_number": line.invoice_number, "application_id": dossier.application_id,
                          "lines": [seen[line.invoice_number], line.line_no]})
        seen.setdefault(line.invoice_number, line.line_no)
    if seen:
        query = select(ClaimedInvoice).where(ClaimedInvoice.edition == dossier.edition,
                                             ClaimedInvoice.invoice_number.in_(list(seen)))
        if dossier.application_id:
            query = query.where(ClaimedInvoice.application_id != dossier.application_id)
        for claim in session.exec(query).all():
            found.append({"invoice_number": claim.invoice_number, "application_id": claim.application_id,
                          "lines": [claim.line_no]})
    return found


def record_claims(session: Session, dossier: Dossier) -> None:
    """Remember a submitted application's project and invoice numbers (re-evaluating replaces them)."""
    for old in session.exec(select(ClaimedInvoice).where(ClaimedInvoice.application_id == dossier.application_id)):
        session.delete(old)
    for old in session.exec(select(ClaimedProject).where(ClaimedProject.application_id == dossier.application_id)):
        session.delete(old)
    session.flush()
    session.add(ClaimedProject(edition=dossier.edition, application_id=dossier.application_id,
                               uscc=dossier.applicant.uscc, project_type=dossier.project_type,
                               project_key=project_key(dossier)))
    for line in dossier.content.f3_expenses or []:
        session.add(ClaimedInvoice(edition=dossier.edition, application_id=dossier.application_id,
                                   invoice_number=line.invoice_number, line_no=line.line_no,
                                   uscc=dossier.applicant.uscc))


def evaluate(session: Session, dossier: Dossier, clock: Clock) -> EvaluationRead:
    """Every check of the dossier's type, the outcome, and (for a submitted application) its invoice claims."""
    edition = edition_of(dossier.edition)
    on = reference_date(dossier, edition, clock)
    facts = registry_facts(session, dossier, edition, on)
    checks = rules.general_checks(dossier, edition, facts)
    if not any(c.rule == "applicant.uscc_valid" for c in checks):
        checks += rules.type_checks(dossier, edition, facts)
    result = EvaluationRead(id=str(uuid.uuid4()), application_id=dossier.application_id, edition=dossier.edition,
                            project_type=dossier.project_type, outcome=rules.outcome(checks), reference_date=on,
                            evaluated_at=clock.now(), checks=[CheckRead(**c.__dict__) for c in checks])
    if dossier.application_id and dossier.submitted_at:
        record_claims(session, dossier)
        session.add(Evaluation(id=result.id, application_id=dossier.application_id, edition=dossier.edition,
                               project_type=dossier.project_type, outcome=result.outcome,
                               checks=[c.model_dump() for c in result.checks], created_at=result.evaluated_at))
    return result


def debarment_end(edition_name: str, starts_on: date) -> date:
    """N3.2: the default end of a debarment, the edition's number of years after it starts."""
    years = load_edition(edition_name).value("registries.debarment_years")
    return starts_on.replace(year=starts_on.year + years) if not (starts_on.month == 2 and starts_on.day == 29) \
        else (starts_on + timedelta(days=1)).replace(year=starts_on.year + years)
