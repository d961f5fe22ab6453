"""Evaluating dossiers against the edition's rules, with the registries as of the reference date (no HTTP here)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from common.clock import Clock, china_date
from common.pagination import Page, PageParams
from common.parameters import Edition, UnknownEdition, UnknownParameter, load_edition
from common.problems import Conflict, Unprocessable

from . import rules
from .dossier import Dossier
from .models import Evaluation
from .registries import DossierRegistry, record_claims
from .rules.general import valid_uscc
from .schemas import CheckRead, EvaluationRead


def edition_of(name: str, field: str = "body.edition") -> Edition:
    """The edition's parameters, or a 422 naming the editions there are."""
    try:
        return load_edition(name)
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": field, "message": str(exc), "code": "enum"}]) from None


def reference_date(dossier: Dossier, edition: Edition, clock: Clock) -> date:
    """POLICY.md: the submission's date in China; for a pre-check, the earlier of today and the applicant deadline."""
    if dossier.submitted_at is not None:
        return china_date(dossier.submitted_at)
    return min(clock.today_in_china(), edition.value("deadlines.applicant_submission"))


def _known_type(edition: Edition, project_type: str, on: date) -> None:
    types = edition.value("project_types", on)
    if project_type not in types:
        message = f"edition {edition.name} has no project type {project_type!r}; known: {', '.join(types)}"
        raise Unprocessable(message, errors=[{"field": "body.project_type", "message": message, "code": "enum"}])


def evaluate(session: Session | Connection, dossier: Dossier, clock: Clock, keep_prechecks: bool = False
             ) -> EvaluationRead:
    """Every check of the dossier's type and the outcome; kept with its claims when submitted (pre-checks if asked).

    A pre-check that is not kept may be evaluated on a bare connection: it only reads the registries."""
    # parameters are those in effect on the reference date: the same dossier gets the same answer whenever it is
    # evaluated again (only the registries may have changed meanwhile)
    edition = edition_of(dossier.edition)
    on = reference_date(dossier, edition, clock)
    try:
        _known_type(edition, dossier.project_type, on)
        ctx = rules.Context(dossier=dossier, edition=edition, on=on,
                            registry=DossierRegistry(session, dossier, edition, on))
        checks = rules.run(ctx)
    except UnknownParameter as exc:  # the edition's figures take effect later than the reference date
        raise Unprocessable(f"Cannot evaluate on {on}: {exc}.", errors=[{
            "field": "body.submitted_at", "message": str(exc), "code": "out_of_range"}]) from None
    submitted = bool(dossier.application_id and dossier.submitted_at)
    result = EvaluationRead(id=str(uuid.uuid4()), application_id=dossier.application_id, edition=dossier.edition,
                            project_type=dossier.project_type, uscc=dossier.applicant.uscc,
                            outcome=rules.outcome(checks), precheck=not submitted, reference_date=on,
                            evaluated_at=clock.now(), checks=[CheckRead(**c.__dict__) for c in checks])
    if (submitted or keep_prechecks) and not isinstance(session, Session):
        raise TypeError("an evaluation that is kept needs a session")  # a programming error, never a caller's
    if submitted and valid_uscc(dossier.applicant.uscc):
        try:
            record_claims(session, dossier)
        except IntegrityError:  # the same application evaluated twice at once: the other one's claims stand
            raise Conflict(f"Application {dossier.application_id} is being evaluated by another request; "
                           "try again.") from None
    if not submitted and not keep_prechecks:
        return result
    session.add(Evaluation(id=result.id, application_id=dossier.application_id, edition=dossier.edition,
                           project_type=dossier.project_type, uscc=dossier.applicant.uscc, outcome=result.outcome,
                           reference_date=on, submitted_at=dossier.submitted_at,
                           dossier_sha256=hashlib.sha256(dossier.model_dump_json().encode()).hexdigest(),
                           checks=[c.model_dump() for c in result.checks], created_at=result.evaluated_at))
    return result


def list_evaluations(session: Session, page: PageParams, *, application_id: str | None, uscc: str | None,
                     edition: str | None, include_prechecks: bool) -> Page[EvaluationRead]:
    """Kept evaluations, newest first."""
    where = []
    if application_id:
        where.append(Evaluation.application_id == application_id)
    if uscc:
        where.append(Evaluation.uscc == uscc)
    if edition:
        where.append(Evaluation.edition == edition)
    if not include_prechecks:
        where.append(Evaluation.submitted_at.is_not(None))
    total = session.exec(select(func.count()).select_from(Evaluation).where(*where)).one()
    rows = session.exec(select(Evaluation).where(*where).order_by(Evaluation.created_at.desc(), Evaluation.id)
                        .offset(page.offset).limit(page.limit)).all()
    return Page(items=[_read(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


def _read(row: Evaluation) -> EvaluationRead:
    return EvaluationRead(id=row.id, application_id=row.application_id, edition=row.edition,
                          project_type=row.project_type, uscc=row.uscc, outcome=row.outcome,
                          precheck=not (row.application_id and row.submitted_at),
                          reference_date=row.reference_date or row.created_at.date(), evaluated_at=row.created_at,
                          checks=row.checks)
