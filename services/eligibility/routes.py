"""HTTP routes of the eligibility service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import select

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.problems import problem_responses

from . import service
from .dossier import Dossier
from .models import CreditEntry, Debarment, RecognisedBase
from .schemas import (CreditEntryIn, CreditEntryRead, DebarmentIn, DebarmentRead, EvaluationRead, ImportResult,
                      ParameterRead, RecognisedBaseIn, RecognisedBaseRead)

router = APIRouter()
EDITORS = Depends(require_roles("city_officer", "admin"))
READERS = Depends(require_roles("city_officer", "district_officer", "auditor", "admin"))
UsccQuery = Annotated[str | None, Query(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="Only this unit's entries")]


@router.post("/evaluations", response_model=EvaluationRead, tags=["evaluations"], responses=problem_responses(401))
def evaluate_dossier(dossier: Dossier, session: SessionDep, principal: PrincipalDep, request: Request
                     ) -> EvaluationRead:
    """Evaluate a dossier against every rule of its edition: outcome and each check with its clause (also a pre-check)."""
    return service.evaluate(session, dossier, request.app.state.clock)


@router.get("/editions/{edition}/parameters", response_model=list[ParameterRead], tags=["parameters"],
            responses=problem_responses(401, 422))
def list_parameters(edition: str, principal: PrincipalDep) -> list[ParameterRead]:
    """Every parameter of an edition with its value, clause and effective date."""
    loaded = service.edition_of(edition)
    out = []
    for path, parameter in sorted(loaded.parameters.items()):
        for effective, value in parameter.values:
            out.append(ParameterRead(path=path, description=parameter.description, clause=parameter.clause,
                                     unit=parameter.unit, effective_from=effective, value=_jsonable(value)))
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if isinstance(value, (int, bool)) or value is None else str(value)


@router.post("/registries/credit-entries", response_model=ImportResult, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def import_credit_entries(entries: list[CreditEntryIn], session: SessionDep) -> ImportResult:
    """Import credit-list entries (N3.1) in bulk."""
    for entry in entries:
        session.add(CreditEntry(id=str(uuid.uuid4()), **entry.model_dump()))
    return ImportResult(imported=len(entries))


@router.get("/registries/credit-entries", response_model=list[CreditEntryRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def list_credit_entries(session: SessionDep, uscc: UsccQuery = None) -> list[CreditEntryRead]:
    """Credit-list entries, by unit."""
    query = select(CreditEntry) if uscc is None else select(CreditEntry).where(CreditEntry.uscc == uscc)
    return [CreditEntryRead.model_validate(e, from_attributes=True) for e in session.exec(query.limit(1000))]


@router.post("/debarments", response_model=DebarmentRead, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def record_debarment(data: DebarmentIn, session: SessionDep,
                     edition: Annotated[str, Query(description="Edition whose debarment length applies")] = "2024"
                     ) -> DebarmentRead:
    """Record a debarment (N3.2); without an end date it lasts the edition's number of years."""
    ends_on = data.ends_on or service.debarment_end(service.edition_of(edition).name, data.starts_on)
    debarment = Debarment(id=str(uuid.uuid4()), uscc=data.uscc, reason=data.reason, source=data.source,
                          starts_on=data.starts_on, ends_on=ends_on)
    session.add(debarment)
    return DebarmentRead.model_validate(debarment, from_attributes=True)


@router.get("/debarments", response_model=list[DebarmentRead], tags=["registries"], dependencies=[READERS],
            responses=problem_responses(401, 403))
def list_debarments(session: SessionDep, uscc: UsccQuery = None) -> list[DebarmentRead]:
    """Debarments, by unit."""
    query = select(Debarment) if uscc is None else select(Debarment).where(Debarment.uscc == uscc)
    return [DebarmentRead.model_validate(d, from_attributes=True) for d in session.exec(query.limit(1000))]


@router.post("/registries/recognised-bases", response_model=ImportResult, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def import_recognised_bases(bases: list[RecognisedBaseIn], session: SessionDep) -> ImportResult:
    """Import recognised TCM service export bases (G5.1.1); a unit already listed is updated."""
    for base in bases:
        row = session.exec(select(RecognisedBase).where(RecognisedBase.uscc == base.uscc)).first()
        row = row or RecognisedBase(id=str(uuid.uuid4()), uscc=base.uscc, base_name=base.base_name)
        row.base_name, row.recognised_on = base.base_name, base.recognised_on
        session.add(row)
    return ImportResult(imported=len(bases))


@router.get("/registries/recognised-bases", response_model=list[RecognisedBaseRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def list_recognised_bases(session: SessionDep, uscc: UsccQuery = None) -> list[RecognisedBaseRead]:
    """Recognised bases, by unit."""
    query = select(RecognisedBase) if uscc is None else select(RecognisedBase).where(RecognisedBase.uscc == uscc)
    return [RecognisedBaseRead.model_validate(b, from_attributes=True) for b in session.exec(query.limit(1000))]
