"""Computations and unit caps (no HTTP here); budget scaling is in scaling.py."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, insert
from sqlmodel import Session, select

from common.batch import BatchItem, run_batch
from common.clock import Clock, china_date
from common.pagination import Page, PageParams
from common.parameters import Edition, UnknownEdition, UnknownParameter, known_editions, load_edition
from common.problems import Unprocessable

from . import amounts
from .caps import apply_unit_caps
from .clients import IntakeClient
from .dossier import Disallowed, Dossier
from .models import Computation
from .scaling import unique_keys
from .schemas import CappedItem, ComputationRead, UnitCapsIn, UnitCapsRead
from .trace import Trace

CAPPED_FIELDS = frozenset(CappedItem.model_fields)  # given to model_construct, which otherwise works it out per item
InEffectByDate = dict[tuple[str, date], amounts.InEffect]  # a batch's parameters by (edition, reference date)



def edition_of(name: str | None, field: str = "body.edition") -> Edition:
    """The edition's parameters (the latest when none is named), or a 422 naming the editions there are."""
    try:
        return load_edition(name or known_editions()[-1])
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": field, "message": str(exc), "code": "enum"}]) from None


def reference_date(dossier: Dossier, edition: Edition, clock: Clock) -> date:
    """As eligibility judges it: the submission's date in China, else the earlier of today and the deadline."""
    if dossier.submitted_at is not None:
        return china_date(dossier.submitted_at)
    return min(clock.today_in_china(), edition.value("deadlines.applicant_submission"))


def compute(session: Session, dossier: Dossier, clock: Clock, keep_prechecks: bool = False) -> ComputationRead:
    """The amount of a dossier and its trace, priced with the parameters in effect on its reference date; kept."""
    result, trace = price(dossier, clock)
    if dossier.application_id is None and not keep_prechecks:
        return result
    session.add(Computation(**computation_row(result, dossier, trace, clock)))
    return result


def compute_batch(session: Session, items: list[dict[str, Any]], clock: Clock, keep_prechecks: bool, instance: str
                  ) -> list[BatchItem[ComputationRead]]:
    """Dossiers priced in order as `compute` prices each, each answered alone; those kept inserted in one statement."""
    shared: InEffectByDate = {}  # an edition re-priced: its parameters looked up once per reference date
    rows: list[dict[str, Any]] = []

    def act(dossier: Dossier) -> ComputationRead:
        result, trace = price(dossier, clock, shared)
        if dossier.application_id is not None or keep_prechecks:
            rows.append(computation_row(result, dossier, trace, clock))
        return result

    answers = run_batch(items, Dossier, act, instance)
    if rows:
        # plain rows in one INSERT: hundreds of ORM objects and their flush cost more CPU than the pricing itself.
        # The calculation service keeps no audit trail (create_app installs none), so no flush hook is bypassed.
        session.execute(insert(Computation.__table__), rows)
    return answers


def price(dossier: Dossier, clock: Clock, shared: InEffectByDate | None = None) -> tuple[ComputationRead, Trace]:
    """The amount of a dossier and its trace, kept nowhere; `shared` holds parameters already looked up (a batch)."""
    edition = edition_of(dossier.edition)
    on = reference_date(dossier, edition, clock)
    in_effect = _in_effect(edition, on, shared)
    try:
        # the project types are parameters too: before the edition's take effect, none is known yet (a 422, not a 500)
        types = in_effect.param("project_types").value if edition.has("project_types") else {}
        if dossier.project_type not in types:
            message = f"edition {edition.name} has no project type {dossier.project_type!r}; known: {', '.join(types)}"
            raise Unprocessable(message, errors=[{"field": "body.project_type", "message": message, "code": "enum"}])
        amount, trace = amounts.compute(dossier, edition, on, in_effect)
    except UnknownParameter as exc:
        raise Unprocessable(f"Cannot price on {on}: {exc}.", errors=[{
            "field": "body.submitted_at", "message": str(exc), "code": "out_of_range"}]) from None
    result = ComputationRead(id=str(uuid.uuid4()), application_id=dossier.application_id, edition=dossier.edition,
                             project_type=dossier.project_type, uscc=dossier.uscc, amount=amount,
                             reference_date=on, disallowed=dossier.disallowed, warnings=trace.warnings,
                             trace=trace.steps)
    return result, trace


def _in_effect(edition: Edition, on: date, shared: InEffectByDate | None) -> amounts.InEffect:
    """The edition's parameters on a date: those of the batch when it has them, else new ones."""
    if shared is None:
        return amounts.InEffect(edition, on)
    found = shared.get((edition.name, on))
    if found is None or found.edition is not edition:
        found = shared[(edition.name, on)] = amounts.InEffect(edition, on)
    return found


def computation_row(result: ComputationRead, dossier: Dossier, trace: Trace, clock: Clock) -> dict[str, Any]:
    """A priced dossier as the computation table keeps it (the trace as written, the dossier by its SHA-256)."""
    return {"id": result.id, "application_id": dossier.application_id, "edition": dossier.edition,
            "project_type": dossier.project_type, "uscc": (dossier.uscc or "")[:40] or None, "amount": result.amount,
            "reference_date": result.reference_date, "disallowed": [d.model_dump() for d in dossier.disallowed],
            "warnings": trace.warnings, "trace": trace.steps,
            "dossier_sha256": hashlib.sha256(dossier.model_dump_json().encode()).hexdigest(),
            "created_at": clock.now()}


def compute_for_application(session: Session, intake: IntakeClient, application_id: str, authorization: str,
                            disallowed: list[Disallowed], clock: Clock, keep_prechecks: bool = False
                            ) -> ComputationRead:
    """Price an application from its dossier at intake (read with the caller's own rights), less disallowed lines."""
    raw = intake.dossier(application_id, authorization)
    try:
        dossier = Dossier.model_validate({**raw, "disallowed": [d.model_dump() for d in disallowed]})
    except ValidationError as exc:
        raise Unprocessable(f"The dossier of application {application_id} cannot be priced: "
                            f"{exc.errors()[0]['msg']}.") from None
    return compute(session, dossier, clock, keep_prechecks)


def list_computations(session: Session, page: PageParams, *, application_id: str | None, uscc: str | None
                      ) -> Page[ComputationRead]:
    """Kept computations, newest first."""
    where = []
    if application_id:
        where.append(Computation.application_id == application_id)
    if uscc:
        where.append(Computation.uscc == uscc)
    total = session.exec(select(func.count()).select_from(Computation).where(*where)).one()
    rows = session.exec(select(Computation).where(*where).order_by(Computation.created_at.desc(), Computation.id)
                        .offset(page.offset).limit(page.limit)).all()
    return Page(items=[ComputationRead(id=r.id, application_id=r.application_id, edition=r.edition,
                                       project_type=r.project_type, uscc=r.uscc, amount=r.amount,
                                       reference_date=r.reference_date or r.created_at.date(),
                                       disallowed=r.disallowed, warnings=r.warnings, trace=r.trace) for r in rows],
                total=total, limit=page.limit, offset=page.offset)


def unit_caps(data: UnitCapsIn) -> UnitCapsRead:
    """G1.3.3, G5.2: a unit's projects under one cap scaled by one factor so that they sum to it when over it."""
    edition = edition_of(data.edition)
    unique_keys([i.key for i in data.items])
    capped, trace = apply_unit_caps(edition, [(i.key, i.uscc, i.project_type, i.amount) for i in data.items])
    return UnitCapsRead(edition=edition.name, trace=trace.steps,
                        # built from validated items without validating again (100,000 items: ~0.5 s less)
                        items=[CappedItem.model_construct(_fields_set=CAPPED_FIELDS, **i.__dict__,
                                                          capped_amount=capped[i.key]) for i in data.items])
