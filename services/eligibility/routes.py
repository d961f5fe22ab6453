"""HTTP routes of the eligibility service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.express import ExpressRoute
from common.jobs import JobRead, accepted_responses
from common.pagination import Page, PageDep, PageParams
from common.parameters import known_editions
from common.problems import PayloadTooLarge, problem_responses

from . import registries, service
from .db import EvaluationSessionDep, get_evaluation_session
from .dossier import Dossier
from .imports import JOBS
from .schemas import (USCC_PATTERN, ClaimedInvoiceRead, CreditEntryIn, CreditEntryRead, DebarmentIn, DebarmentRead,
                      EditionRead, EvaluationBatchIn, EvaluationBatchRead, EvaluationRead, ImportResult, ParameterRead,
                      RecognisedBaseIn, RecognisedBaseRead, UnitRegistryRead)

router = APIRouter()
EDITORS = Depends(require_roles("city_officer", "admin"))
READERS = Depends(require_roles("city_officer", "district_officer", "auditor", "admin"))
BATCHERS = Depends(require_roles("city_officer", "admin"))  # services are admitted everywhere
UsccQuery = Annotated[str | None, Query(pattern=USCC_PATTERN, description="统一社会信用代码: only this unit's entries")]
EditionQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$",
                                           description="年度; default: the latest edition")]
MAX_IMPORT_BYTES = 32 * 1024 * 1024


def _import_body(schema: str) -> dict[str, Any]:
    """OpenAPI of an import: a JSON list of entries, or CSV whose header row names their fields."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}}},
        "text/csv": {"schema": {"type": "string", "description": f"UTF-8 CSV, header row of {schema} field names"}}}}}


async def import_body(request: Request) -> tuple[bytes, str]:
    """The raw body of an import and its media type, refused beyond the import size limit."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(f"An import is at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
        chunks.append(chunk)
    return b"".join(chunks), request.headers.get("content-type", "")


ImportBody = Annotated[tuple[bytes, str], Depends(import_body)]


def _latest_edition(name: str | None):
    return service.edition_of(name or known_editions()[-1], field="query.edition")


# --- evaluations ------------------------------------------------------------------------------------------

@router.post("/evaluations", response_model=EvaluationRead, tags=["evaluations"],
             responses=problem_responses(401, 409, 422))
async def evaluate_dossier(dossier: Dossier, principal: PrincipalDep, request: Request) -> EvaluationRead:
    """Evaluate a dossier against every rule of its edition: outcome and each check with its clause (or a pre-check)."""
    answer = await precheck(dossier, request)
    if answer is not None:
        return answer
    # a submission records its claims (and may wait on another's): in the thread pool, session opened and ended there
    return await run_in_threadpool(_evaluate, dossier, request)


async def precheck(dossier: Dossier, request: Request) -> EvaluationRead | None:
    """A pre-check the service does not keep, evaluated on the event loop; None for an evaluation it keeps.

    Also the express lane's handler for POST /evaluations (common/express.py)."""
    if (dossier.application_id and dossier.submitted_at) or request.app.state.settings.keep_prechecks:
        return None
    # a pre-check writes nothing and reads the registries in one indexed statement: evaluated on the event loop
    # (under load, py-spy showed the hand-offs to the thread pool taking a third of its CPU), with no transaction
    # around its one statement (BEGIN and COMMIT were two more round trips on PostgreSQL), on connections kept for it
    rows = await request.app.state.registry_reader.rows(dossier)
    return service.evaluate_read(dossier, request.app.state.clock, rows)


EXPRESS = [ExpressRoute("/evaluations", Dossier, precheck)]


def _evaluate(dossier: Dossier, request: Request) -> EvaluationRead:
    with contextmanager(get_evaluation_session)(request) as session:
        return service.evaluate(session, dossier, request.app.state.clock, request.app.state.settings.keep_prechecks)


@router.post("/evaluations/batch", response_model=EvaluationBatchRead, tags=["evaluations"], dependencies=[BATCHERS],
             responses=problem_responses(401, 403, 409, 422))
def evaluate_dossiers(data: EvaluationBatchIn, session: EvaluationSessionDep, request: Request) -> EvaluationBatchRead:
    """Evaluate up to 500 dossiers in one request and one transaction (an edition re-evaluated); each answered alone."""
    state = request.app.state
    return EvaluationBatchRead(items=service.evaluate_batch(session, data.items, state.clock,
                                                            state.settings.keep_prechecks, request.url.path))


@router.get("/evaluations", response_model=Page[EvaluationRead], tags=["evaluations"], dependencies=[READERS],
            responses=problem_responses(401, 403))
def list_evaluations(session: SessionDep, page: PageDep, uscc: UsccQuery = None,
                     application_id: Annotated[str | None, Query(max_length=64, description="申请编号")] = None,
                     edition: EditionQuery = None,
                     include_prechecks: Annotated[bool, Query(description="含预审 / pre-checks too (kept when the "
                                                                          "service keeps them)")] = False
                     ) -> Page[EvaluationRead]:
    """Kept evaluations, newest first: an application's history, a unit's, an edition's."""
    return service.list_evaluations(session, page, application_id=application_id, uscc=uscc, edition=edition,
                                    include_prechecks=include_prechecks)


# --- parameters -------------------------------------------------------------------------------------------

@router.get("/editions", response_model=list[EditionRead], tags=["parameters"], responses=problem_responses(401))
def list_editions(principal: PrincipalDep) -> list[EditionRead]:
    """The editions of the programme that have a parameter file."""
    out = []
    for name in known_editions():
        edition = service.edition_of(name)
        out.append(EditionRead(edition=edition.name, title=edition.title, notice=_jsonable(
            edition.metadata.get("notice", {})), project_types=dict(edition.value("project_types")),
            parameter_count=len(edition.parameters)))
    return out


@router.get("/editions/{edition}/parameters", response_model=list[ParameterRead], tags=["parameters"],
            responses=problem_responses(401, 422))
def list_parameters(edition: str, principal: PrincipalDep,
                    on: Annotated[date | None, Query(description="只列该日生效的取值 / only values in effect on this date")]
                    = None,
                    prefix: Annotated[str | None, Query(max_length=100, description="参数名前缀, e.g. certification")]
                    = None) -> list[ParameterRead]:
    """Every parameter of an edition with its value, clause and effective date (all values over time, or on a date)."""
    loaded = service.edition_of(edition, field="path.edition")
    out = []
    for path, parameter in sorted(loaded.parameters.items()):
        if prefix and not (path == prefix or path.startswith(prefix + ".")):
            continue
        values = parameter.values
        if on is not None:
            values = tuple(v for v in values if v[0] <= on)[-1:]
        for effective, value in values:
            out.append(ParameterRead(path=path, description=parameter.description, clause=parameter.clause,
                                     unit=parameter.unit, reference=parameter.reference, effective_from=effective,
                                     value=_jsonable(value)))
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if isinstance(value, (int, bool, str)) or value is None else str(value)


# --- registries -------------------------------------------------------------------------------------------

@router.post("/registries/credit-entries", response_model=ImportResult, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def import_credit_entries(entries: list[CreditEntryIn], session: SessionDep) -> ImportResult:
    """Import credit-list entries (N3.1) as a JSON list; an entry already known is updated (its delisting date)."""
    return registries.import_credit_entries(session, entries)


@router.post("/registries/credit-entries/import", response_model=JobRead, status_code=202, tags=["registries"],
             dependencies=[EDITORS], responses=accepted_responses(401, 403, 413, 415, 422),
             openapi_extra=_import_body("CreditEntryIn"))
def upload_credit_entries(body: ImportBody, session: SessionDep, principal: PrincipalDep, response: Response
                          ) -> JobRead:
    """Bulk import of credit-list entries (N3.1), CSV or a JSON list, as a job: good lines kept, bad ones reported."""
    return JOBS.submit(session, response, principal, "credit-entries-import", data=body[0], media_type=body[1])


@router.get("/registries/credit-entries", response_model=Page[CreditEntryRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def list_credit_entries(session: SessionDep, page: PageDep, uscc: UsccQuery = None) -> Page[CreditEntryRead]:
    """Credit-list entries, all or one unit's, newest listing first."""
    return registries.list_credit_entries(session, page, uscc)


@router.post("/debarments", response_model=DebarmentRead, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def record_debarment(data: DebarmentIn, session: SessionDep, edition: EditionQuery = None) -> DebarmentRead:
    """Record a debarment (N3.2); without an end date it lasts the edition's years; sent again, it is the same one."""
    years = _latest_edition(edition).value("registries.debarment_years")
    return registries.record_debarment(session, data, years)


@router.get("/debarments", response_model=list[DebarmentRead], tags=["registries"], dependencies=[READERS],
            responses=problem_responses(401, 403))
def list_debarments(session: SessionDep, uscc: UsccQuery = None) -> list[DebarmentRead]:
    """Debarments, all (at most 1,000) or one unit's; /registries/debarments pages through them."""
    return registries.list_debarments(session, PageParams(limit=1000, offset=0), uscc).items


@router.post("/registries/debarments/import", response_model=JobRead, status_code=202, tags=["registries"],
             dependencies=[EDITORS], responses=accepted_responses(401, 403, 413, 415, 422),
             openapi_extra=_import_body("DebarmentIn"))
def upload_debarments(body: ImportBody, session: SessionDep, principal: PrincipalDep, response: Response,
                      edition: EditionQuery = None) -> JobRead:
    """Bulk import of debarments (N3.2), CSV or a JSON list, as a job: good lines kept, bad ones reported."""
    years = _latest_edition(edition).value("registries.debarment_years")
    return JOBS.submit(session, response, principal, "debarments-import", data=body[0], media_type=body[1],
                       params={"years": years})


@router.get("/registries/debarments", response_model=Page[DebarmentRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def page_debarments(session: SessionDep, page: PageDep, uscc: UsccQuery = None) -> Page[DebarmentRead]:
    """Debarments, all or one unit's, latest end first."""
    return registries.list_debarments(session, page, uscc)


@router.post("/registries/recognised-bases", response_model=ImportResult, status_code=201, tags=["registries"],
             dependencies=[EDITORS], responses=problem_responses(401, 403))
def import_recognised_bases(bases: list[RecognisedBaseIn], session: SessionDep) -> ImportResult:
    """Import recognised TCM service export bases (G5.1.1) as a JSON list; a unit already listed is updated."""
    return registries.import_recognised_bases(session, bases)


@router.post("/registries/recognised-bases/import", response_model=JobRead, status_code=202,
             tags=["registries"], dependencies=[EDITORS], responses=accepted_responses(401, 403, 413, 415, 422),
             openapi_extra=_import_body("RecognisedBaseIn"))
def upload_recognised_bases(body: ImportBody, session: SessionDep, principal: PrincipalDep, response: Response
                            ) -> JobRead:
    """Bulk import of recognised TCM bases (G5.1.1), CSV or a JSON list, as a job: good lines kept, bad ones reported."""
    return JOBS.submit(session, response, principal, "recognised-bases-import", data=body[0], media_type=body[1])


@router.get("/registries/recognised-bases", response_model=Page[RecognisedBaseRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def list_recognised_bases(session: SessionDep, page: PageDep, uscc: UsccQuery = None) -> Page[RecognisedBaseRead]:
    """Recognised bases, all or one unit's, by name."""
    return registries.list_recognised_bases(session, page, uscc)


@router.get("/registries/claimed-invoices", response_model=Page[ClaimedInvoiceRead], tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def list_claimed_invoices(session: SessionDep, page: PageDep, uscc: UsccQuery = None, edition: EditionQuery = None,
                          invoice_number: Annotated[str | None, Query(max_length=40, description="发票号码")] = None,
                          application_id: Annotated[str | None, Query(max_length=64, description="申请编号")] = None,
                          duplicates_only: Annotated[bool, Query(description="只列重复申报的发票 (N3.3)")] = False
                          ) -> Page[ClaimedInvoiceRead]:
    """Invoice numbers submitted applications claim (N3.3); `duplicates_only` lists those claimed more than once."""
    return registries.list_claimed_invoices(session, page, edition=edition, uscc=uscc, invoice_number=invoice_number,
                                            application_id=application_id, duplicates_only=duplicates_only)


@router.get("/registries/units/{uscc}", response_model=UnitRegistryRead, tags=["registries"],
            dependencies=[READERS], responses=problem_responses(401, 403))
def get_unit_registries(uscc: Annotated[str, Path(pattern=USCC_PATTERN, description="统一社会信用代码")],
                        session: SessionDep, request: Request,
                        on: Annotated[date | None, Query(ge=date(1900, 1, 1), le=date(2199, 12, 31),
                                                         description="判断日期; default: today in China")] = None,
                        edition: EditionQuery = None) -> UnitRegistryRead:
    """What every registry holds on one unit, and whether it counts against it on a date (N3.1, N3.2, G5.1.1, N3.3)."""
    day = on or request.app.state.clock.today_in_china()
    return registries.unit_view(session, uscc, day, _latest_edition(edition))
