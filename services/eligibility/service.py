"""Evaluating dossiers against the edition's rules, with the registries as of the reference date (no HTTP here)."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import date

from pydantic_core import to_json
from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.batch import BatchItem, answer_each, validated
from common.clock import Clock, china_date
from common.db import JsonText
from common.pagination import Page, PageParams
from common.parameters import Edition, UnknownEdition, UnknownParameter, load_edition
from common.problems import Conflict, Unprocessable

from . import rules
from .dossier import Dossier
from .models import Evaluation
from .registries import BatchRegistry, DossierRegistry, read_batch
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


def _submitted(dossier: Dossier) -> bool:
    """A submitted application (kept, its claims recorded), not a pre-check."""
    return bool(dossier.application_id and dossier.submitted_at)


def _evaluated(dossier: Dossier, clock: Clock, registry: Callable[[Edition, date], DossierRegistry]
               ) -> EvaluationRead:
    """Every check of the dossier's type and the outcome, the registries as `registry(edition, on)` gives them."""
    # parameters are those in effect on the reference date: the same dossier gets the same answer whenever it is
    # evaluated again (only the registries may have changed meanwhile)
    edition = edition_of(dossier.edition)
    on = reference_date(dossier, edition, clock)
    try:
        _known_type(edition, dossier.project_type, on)
        checks = rules.run(rules.Context(dossier=dossier, edition=edition, on=on, registry=registry(edition, on)))
    except UnknownParameter as exc:  # the edition's figures take effect later than the reference date
        raise Unprocessable(f"Cannot evaluate on {on}: {exc}.", errors=[{
            "field": "body.submitted_at", "message": str(exc), "code": "out_of_range"}]) from None
    return EvaluationRead(id=str(uuid.uuid4()), application_id=dossier.application_id, edition=dossier.edition,
                          project_type=dossier.project_type, uscc=dossier.applicant.uscc,
                          outcome=rules.outcome(checks), precheck=not _submitted(dossier), reference_date=on,
                          evaluated_at=clock.now(), checks=[CheckRead(**c.__dict__) for c in checks])


def evaluate(session: Session, dossier: Dossier, clock: Clock, keep_prechecks: bool = False) -> EvaluationRead:
    """Every check of the dossier's type and the outcome, kept with its claims (a submission, or a pre-check when the
    service keeps them); a pre-check it does not keep is evaluate_read's."""
    batch = BatchEvaluation(session, [dossier], clock, keep_prechecks)  # a batch of one: written the same way
    result = batch.evaluate(dossier)
    batch.write()
    return result


def evaluate_read(dossier: Dossier, clock: Clock, found: dict[str, list]) -> EvaluationRead:
    """A pre-check that is not kept, from its registry rows already read (registry_readers.py)."""
    return _evaluated(dossier, clock, lambda edition, on: DossierRegistry(dossier, edition, on, found=found))


class BatchEvaluation:
    """Dossiers evaluated in order against registries read once for all of them (BatchRegistry keeps what each one
    sees exactly as if they were evaluated one by one); their claims and kept evaluations are written at the end."""

    def __init__(self, session: Session, dossiers: list[Dossier], clock: Clock, keep_prechecks: bool) -> None:
        self.session, self.clock, self.keep_prechecks = session, clock, keep_prechecks
        self.registry = BatchRegistry(read_batch(session.connection(), dossiers))
        self.kept: list[dict] = []  # Evaluation rows

    def evaluate(self, dossier: Dossier) -> EvaluationRead:
        """One dossier's evaluation; its claims are seen by the dossiers after it."""
        result = _evaluated(dossier, self.clock, lambda edition, on: DossierRegistry(
            dossier, edition, on, batch=self.registry))
        submitted = not result.precheck
        if submitted and valid_uscc(dossier.applicant.uscc):  # N3.3: an invalid USCC names no unit to compare
            self.registry.record(dossier)
        if submitted or self.keep_prechecks:
            self.kept.append({
                "id": result.id, "application_id": dossier.application_id, "edition": dossier.edition,
                "project_type": dossier.project_type, "uscc": dossier.applicant.uscc, "outcome": result.outcome,
                "reference_date": result.reference_date, "submitted_at": dossier.submitted_at,
                "dossier_sha256": hashlib.sha256(dossier.model_dump_json().encode()).hexdigest(),
                # the checks serialised straight from the answer's models, not dumped to dicts first
                "checks": JsonText(to_json(result.checks).decode()), "created_at": result.evaluated_at})
        return result

    def write(self) -> None:
        """The recorded claims (replacing the applications' earlier ones) and the kept evaluations, in bulk."""
        connection = self.session.connection()
        try:
            self.registry.write(connection)
        except IntegrityError:  # the same application evaluated at once by another request: its claims stand
            applications = list(self.registry.recorded)
            named = (f"Application {applications[0]} is" if len(applications) == 1
                     else f"An application of this batch ({', '.join(applications[:5])}…) is")
            raise Conflict(f"{named} being evaluated by another request; try again.") from None
        if self.kept:
            connection.execute(insert(Evaluation.__table__), self.kept)


def evaluate_batch(session: Session, items: list[dict], clock: Clock, keep_prechecks: bool, instance: str
                   ) -> list[BatchItem[EvaluationRead]]:
    """Each item answered in order as POST /evaluations would answer it one after the other (run_batch's contract: a
    malformed or refused item gets its problem, 409 and 5xx fail the whole batch), in one registry read and one
    write."""
    # every dossier is validated first: the registries are read for all of them before the first is evaluated
    checked = validated(items, Dossier)
    batch = BatchEvaluation(session, [d for d in checked if isinstance(d, Dossier)], clock, keep_prechecks)
    answers = answer_each(checked, batch.evaluate, instance)
    batch.write()
    return answers


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
