"""HTTP routes of the intake service (thin: parse, authorise, call the service layer, shape the answer)."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import Field
from starlette.background import BackgroundTask
from sqlmodel import Session, func, select

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep
from common.jobs import JobRead, accepted_responses
from common.pagination import MAX_PAGE_SIZE, Page, PageDep
from common.problems import (Conflict, NotFound, PayloadTooLarge, ServiceUnavailable, Unprocessable,
                             problem_responses)

from . import documents, package, service, summary
from .forms import ProjectType
from .jobs import JOBS
from .models import Applicant, Application, ApplicationVersion, Document, ReviewRecord
from .schemas import (ApplicantCreate, ApplicantRead, ApplicationCreate, ApplicationRead, ApplicationStatus,
                      ApplicationUpdate, DistrictRead, DistrictSubmissionRead, DocumentRead, DossierRead,
                      ReviewDecision, ReviewRead, VersionRead)

router = APIRouter()
UNIT_ONLY = Depends(require_roles("applicant", "admin"))  # what only the unit itself does to its application
# one media type: the kind is read from the bytes whatever Content-Type says, and generated clients take one
# binary body where several alternatives of the same bytes made a union they cannot tell apart
UPLOAD_BODY = {"requestBody": {"required": True, "description": (
    "The file's bytes, streamed as the request body: PDF, PNG or JPEG, recognised by content (magic bytes), so any "
    "Content-Type is accepted (application/pdf, image/png, image/jpeg or application/octet-stream)"),
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/districts", response_model=list[DistrictRead], tags=["reference"], responses=problem_responses(401))
def list_districts(principal: PrincipalDep) -> list[DistrictRead]:
    """Dalian's districts, counties, county-level cities and leading zones (where a unit may be registered)."""
    return [DistrictRead(**row) for row in service.districts().values()]


@router.post("/applicants", response_model=ApplicantRead, status_code=201, tags=["applicants"],
             responses=problem_responses(401, 403, 409),
             dependencies=[Depends(require_roles("applicant", "city_officer", "admin"))])
def register_applicant(data: ApplicantCreate, session: SessionDep, principal: PrincipalDep,
                       request: Request) -> ApplicantRead:
    """Register an applicant unit (an applicant account registers only its own USCC)."""
    applicant = service.register_applicant(session, data, principal, request.app.state.clock)
    return service.applicant_read(applicant, principal)


@router.get("/applicants", response_model=Page[ApplicantRead], tags=["applicants"], responses=problem_responses(401))
def list_applicants(session: SessionDep, principal: PrincipalDep, page: PageDep,
                    uscc: Annotated[str | None, Query(description="Only the unit with this USCC")] = None,
                    district_code: Annotated[str | None, Query(description="注册地区市县代码")] = None,
                    ids: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Query(
                        alias="id", max_length=MAX_PAGE_SIZE,
                        description="Only these units (repeat the parameter: ?id=…&id=…)")] = None,
                    ) -> Page[ApplicantRead]:
    """The units the caller may see, oldest registration first."""
    query = service.scoped_applicants(principal)
    if ids:
        query = query.where(Applicant.id.in_(ids))
    if uscc is not None:
        query = query.where(Applicant.uscc == uscc)
    if district_code is not None:
        query = query.where(Applicant.district_code == district_code)
    rows = session.exec(query.order_by(Applicant.created_at, Applicant.id).limit(page.limit)
                        .offset(page.offset)).all()
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return Page[ApplicantRead](items=[service.applicant_read(a, principal) for a in rows], total=total,
                               limit=page.limit, offset=page.offset)


@router.get("/applicants/{applicant_id}", response_model=ApplicantRead, tags=["applicants"],
            responses=problem_responses(401, 404))
def get_applicant(applicant_id: str, session: SessionDep, principal: PrincipalDep) -> ApplicantRead:
    """One unit (404 when outside the caller's scope)."""
    return service.applicant_read(service.get_applicant(session, applicant_id, principal), principal)


@router.post("/applications", response_model=ApplicationRead, status_code=201, tags=["applications"],
             responses=problem_responses(401, 403, 404, 409),
             dependencies=[Depends(require_roles("applicant", "admin"))])
def create_application(data: ApplicationCreate, session: SessionDep, principal: PrincipalDep,
                       request: Request) -> ApplicationRead:
    """Start a draft application of a project type for an edition."""
    application = service.create_application(session, data, principal, request.app.state.clock)
    return service.application_read(application, principal)


@router.get("/applications", response_model=Page[ApplicationRead], tags=["applications"],
            responses=problem_responses(401))
def list_applications(
    session: SessionDep, principal: PrincipalDep, page: PageDep,
    status: Annotated[ApplicationStatus | None, Query(description="draft, submitted, returned, district_passed, "
                                                                  "rejected")] = None,
    project_type: Annotated[ProjectType | None, Query(description="项目类型")] = None,
    district_code: Annotated[str | None, Query(description="注册地区市县代码")] = None,
    edition: Annotated[str | None, Query(description="Programme edition")] = None,
    applicant_id: Annotated[str | None, Query(description="Only this unit's applications")] = None,
    sort: Annotated[Literal["-created_at", "created_at", "-updated_at", "updated_at", "-submitted_at",
                            "submitted_at"], Query(description="Order; a leading - is newest first")] = "-created_at",
) -> Page[ApplicationRead]:
    """The applications the caller may see (an applicant its unit's, a district officer its district's)."""
    rows, total = service.list_applications(session, principal, status=status, project_type=project_type,
                                            district_code=district_code, edition=edition, applicant_id=applicant_id,
                                            limit=page.limit, offset=page.offset, sort=sort)
    return Page[ApplicationRead](items=[service.application_read(a, principal) for a in rows], total=total,
                                 limit=page.limit, offset=page.offset)


@router.get("/applications/{application_id}", response_model=ApplicationRead, tags=["applications"],
            responses=problem_responses(401, 404))
def get_application(application_id: str, session: SessionDep, principal: PrincipalDep) -> ApplicationRead:
    """One application with its state, evaluation and computed amount."""
    return service.application_read(service.get_application(session, application_id, principal), principal)


@router.get("/applications/{application_id}/versions", response_model=list[VersionRead], tags=["applications"],
            responses=problem_responses(401, 404))
def list_application_versions(application_id: str, session: SessionDep, principal: PrincipalDep) -> list[VersionRead]:
    """Every kept version of an application's forms, with who changed it and when."""
    service.get_application(session, application_id, principal)
    rows = session.exec(select(ApplicationVersion).where(ApplicationVersion.application_id == application_id)
                        .order_by(ApplicationVersion.version)).all()
    return [VersionRead(version=v.version, content=service.content_read(v.content, principal), changed_by=v.changed_by,
                        changed_at=v.changed_at) for v in rows]


@router.get("/applications/{application_id}/reviews", response_model=list[ReviewRead], tags=["review"],
            responses=problem_responses(401, 404))
def list_application_reviews(application_id: str, session: SessionDep, principal: PrincipalDep) -> list[ReviewRead]:
    """The district's recorded decisions on an application: who, when, why."""
    service.get_application(session, application_id, principal)
    rows = session.exec(select(ReviewRecord).where(ReviewRecord.application_id == application_id)
                        .order_by(ReviewRecord.decided_at)).all()
    return [ReviewRead.model_validate(r, from_attributes=True) for r in rows]


@router.put("/applications/{application_id}/content", response_model=ApplicationRead, tags=["applications"],
            dependencies=[UNIT_ONLY], responses=problem_responses(401, 403, 404, 409))
def update_application_content(application_id: str, data: ApplicationUpdate, session: SessionDep,
                               principal: PrincipalDep, request: Request) -> ApplicationRead:
    """Replace a draft's forms; the previous version is kept."""
    application = service.update_content(session, application_id, data.content, principal, request.app.state.clock)
    return service.application_read(application, principal)


@router.post("/applications/{application_id}/submit", response_model=ApplicationRead, tags=["applications"],
             dependencies=[UNIT_ONLY], responses=problem_responses(401, 403, 404, 409))
def submit_application(application_id: str, session: SessionDep, principal: PrincipalDep,
                       request: Request) -> ApplicationRead:
    """Submit to the district: frozen, stamped, and queued for evaluation (N3.5)."""
    return service.application_read(service.submit(session, application_id, principal, request.app.state.clock),
                                    principal)


@router.post("/applications/{application_id}/review", response_model=ApplicationRead, tags=["review"],
             responses=problem_responses(401, 403, 404, 409),
             dependencies=[Depends(require_roles("district_officer", "admin"))])
def review_application(application_id: str, data: ReviewDecision, session: SessionDep, principal: PrincipalDep,
                       request: Request) -> ApplicationRead:
    """The district office's preliminary review (初审, N4.1): pass, return for correction, or reject."""
    application = service.review(session, application_id, data.decision, data.reason, principal,
                                 request.app.state.clock)
    return service.application_read(application, principal)


@router.get("/applications/{application_id}/dossier", response_model=DossierRead, tags=["applications"],
            responses=problem_responses(401, 404))
def get_application_dossier(application_id: str, session: SessionDep, principal: PrincipalDep) -> DossierRead:
    """The application as the dossier eligibility and calculation are given (docs/dossier.md), for whoever sees it."""
    dossier = service.dossier(session, service.get_application(session, application_id, principal))
    return DossierRead.model_validate({**dossier, "content": service.content_read(dossier["content"], principal)})


def _authorise_upload(engine, application_id: str, principal, kind: str) -> None:
    with Session(engine) as session:
        application = service.get_application(session, application_id, principal)
        if principal.role not in ("applicant", "admin"):
            raise NotFound("Only the unit itself uploads its evidence.")
        if application.status not in service.EDITABLE:
            raise Conflict(f"The application is {application.status}: its documents no longer change.")
        edition = service.load_edition(application.edition)
        kinds = {k for name, p in edition.parameters.items() if name.startswith("materials.") for k in p.at()[1]}
        kinds.update(documents.EXTRA_KINDS)
        if kind not in kinds:
            raise Unprocessable(f"'{kind}' is not a document kind; use one of {', '.join(sorted(kinds))}.",
                                errors=[{"field": "query.kind", "message": "unknown document kind", "code": "enum"}])


def _record_document(engine, application_id: str, kind: str, filename: str, received, principal, now) -> Document:
    with Session(engine, expire_on_commit=False) as session:
        service.lock_for_writing(session)
        # submitted while the body was streaming? then the document comes too late
        status = session.exec(select(Application.status).where(Application.id == application_id)).one()
        if status not in service.EDITABLE:
            raise Conflict(f"The application was {status} while the document arrived: it was not kept.")
        document = Document(id=str(uuid.uuid4()), application_id=application_id, kind=kind, filename=filename,
                            media_type=received.media_type, size=received.size, sha256=received.sha256,
                            object_key=received.key, uploaded_by=principal.subject, created_at=now)
        session.add(document)
        session.commit()
        return document


@router.post("/applications/{application_id}/documents", response_model=DocumentRead, status_code=201,
             tags=["documents"], openapi_extra=UPLOAD_BODY, dependencies=[UNIT_ONLY],
             responses=problem_responses(401, 403, 404, 409, 413, 415, 503))
async def upload_document(
    application_id: str, request: Request, principal: PrincipalDep,
    kind: Annotated[str, Query(max_length=40, description="文件类别, e.g. business_licence, invoice")],
    filename: Annotated[str, Query(max_length=200, description="Original file name")],
) -> DocumentRead:
    """Upload one evidence document as the raw request body (PDF, PNG or JPEG, recognised by content)."""
    state = request.app.state
    name = documents.check_filename(filename)
    await run_in_threadpool(_authorise_upload, state.engine, application_id, principal, kind)
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:  # refused before a byte is read
        raise PayloadTooLarge(f"Documents may be at most {limit} bytes; this one declares {declared}.",
                              limit_bytes=limit)
    received = await documents.receive(request, state.store, application_id, limit,
                                       int(declared) if declared.isdigit() else None)
    try:
        document = await run_in_threadpool(_record_document, state.engine, application_id, kind, name, received,
                                           principal, state.clock.now())
    except BaseException:
        await run_in_threadpool(documents._forget, state.store, received.key)  # no object without its row
        raise
    return DocumentRead.model_validate(document, from_attributes=True)


@router.get("/applications/{application_id}/documents", response_model=list[DocumentRead], tags=["documents"],
            responses=problem_responses(401, 404))
def list_documents(application_id: str, session: SessionDep, principal: PrincipalDep) -> list[DocumentRead]:
    """An application's documents."""
    service.get_application(session, application_id, principal)
    rows = session.exec(select(Document).where(Document.application_id == application_id)
                        .order_by(Document.created_at)).all()
    return [DocumentRead.model_validate(d, from_attributes=True) for d in rows]


def _document(session, application_id: str, document_id: str, principal) -> Document:
    service.get_application(session, application_id, principal)  # the same check as the application's
    document = session.get(Document, document_id)
    if document is None or document.application_id != application_id:
        raise NotFound(f"No document {document_id} in application {application_id}.")
    return document


def _read_object(store, key: str):
    """The stored bytes of a document; 503 when the store cannot give them."""
    try:
        return store.open(key)
    except Exception as exc:  # unreachable server, missing object: the content cannot be served now
        raise ServiceUnavailable("The document store cannot give this document's content now; try again shortly.",
                                 service="object_store") from exc


@router.get("/applications/{application_id}/documents/{document_id}/content", tags=["documents"],
            response_class=StreamingResponse, responses={
                200: {"description": "The document's bytes", "content": {
                    m: {"schema": {"type": "string", "format": "binary"}}
                    for m in ("application/pdf", "image/png", "image/jpeg")}},
                **problem_responses(401, 404, 503)})
def download_document(application_id: str, document_id: str, session: SessionDep, principal: PrincipalDep,
                      request: Request) -> StreamingResponse:
    """Stream a document back with its original file name."""
    document = _document(session, application_id, document_id, principal)
    disposition = f"attachment; filename*=UTF-8''{quote(document.filename)}"
    return StreamingResponse(_read_object(request.app.state.store, document.object_key), media_type=document.media_type,
                             headers={"Content-Disposition": disposition, "Content-Length": str(document.size),
                                      "ETag": f'"{document.sha256}"'})


@router.get("/applications/{application_id}/package", tags=["documents"], response_class=FileResponse,
            responses={200: {"description": "The paper package (申报材料汇编) as one PDF", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                **problem_responses(401, 404, 422, 503)})
def download_application_package(application_id: str, session: SessionDep, principal: PrincipalDep,
                                 request: Request) -> FileResponse:
    """The application's paper package as one PDF: cover, index and forms, then every exhibit, each page numbered."""
    state = request.app.state
    application = service.get_application(session, application_id, principal)
    applicant = session.get(Applicant, application.applicant_id)
    edition = service.load_edition(application.edition)
    order = {kind: n for n, kind in enumerate(service.required_materials(edition, application)[0])}
    rows = sorted(session.exec(select(Document).where(Document.application_id == application_id)).all(),
                  key=lambda d: (order.get(d.kind, len(order)), d.created_at, d.id))
    package.check_size(sum(d.size for d in rows))
    workdir = Path(tempfile.mkdtemp(prefix="fundflow-package-"))
    try:
        exhibits = []
        for number, document in enumerate(rows):
            path = workdir / f"exhibit-{number}"
            package.copy_to(_read_object(state.store, document.object_key), path)
            exhibits.append(package.Exhibit(document.kind, document.filename, document.media_type, document.size, path))
        header = package.header_lines(application, applicant, service.districts()[applicant.district_code]["name"],
                                      state.clock.now())
        out = workdir / "package.pdf"
        package.assemble(out, header, service.application_read(application, principal).content, exhibits)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(out, media_type="application/pdf", filename=f"申报材料-{applicant.uscc}-{application.id}.pdf",
                        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True))


@router.delete("/applications/{application_id}/documents/{document_id}", status_code=204, tags=["documents"],
               dependencies=[UNIT_ONLY], responses=problem_responses(401, 403, 404, 409))
def delete_document(application_id: str, document_id: str, session: SessionDep, principal: PrincipalDep,
                    request: Request) -> None:
    """Remove a draft's document and its stored object."""
    document = _document(session, application_id, document_id, principal)
    application = service.get_application(session, application_id, principal)
    if principal.role not in ("applicant", "admin"):
        raise NotFound("Only the unit itself removes its evidence.")
    if application.status not in service.EDITABLE:
        raise Conflict(f"The application is {application.status}: its documents no longer change.")
    session.delete(document)
    session.commit()  # the row goes first: at worst an unreferenced object remains, never a row without its object
    request.app.state.store.delete(document.object_key)


@router.get("/districts/{district_code}/summary", tags=["review"], response_class=Response,
            dependencies=[Depends(require_roles("district_officer", "city_officer", "admin"))],
            responses={200: {"description": "附件2 汇总表 of the district's passed projects", "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}}}}, **problem_responses(401, 403, 404)})
def export_district_summary(
    district_code: str, session: SessionDep, principal: PrincipalDep,
    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024",
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv",
) -> Response:
    """The district summary table (附件2 汇总表) of passed projects, as CSV or XLSX (many rows: POST …/summary-jobs)."""
    content, media, name = summary.summary_file(session, principal, district_code, edition, format)
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/districts/{district_code}/summary-jobs", response_model=JobRead, status_code=202, tags=["review"],
             dependencies=[Depends(require_roles("district_officer", "city_officer", "admin"))],
             responses=accepted_responses(401, 403, 404))
def export_district_summary_job(
    district_code: str, session: SessionDep, principal: PrincipalDep, response: Response,
    edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Programme edition")] = "2024",
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv",
) -> JobRead:
    """The summary table made in the background (202; the file at the job's /result when it has succeeded)."""
    summary.check_district(principal, district_code)
    return JOBS.submit(session, response, principal, "summary-export",
                       params={"district_code": district_code, "edition": edition, "format": format})


@router.post("/districts/{district_code}/submissions", response_model=DistrictSubmissionRead, status_code=201,
             tags=["review"], dependencies=[Depends(require_roles("district_officer", "admin"))],
             responses=problem_responses(401, 403, 404, 409))
def submit_district_summary(district_code: str, session: SessionDep, principal: PrincipalDep, request: Request,
                            edition: Annotated[str, Query(pattern=r"^\d{4}$", description="Edition")] = "2024"
                            ) -> DistrictSubmissionRead:
    """Send the district's passed projects to the city, stamped; refused after the deadline (N4.1)."""
    record = summary.submit_to_city(session, principal, district_code, edition, request.app.state.clock)
    return DistrictSubmissionRead.model_validate(record, from_attributes=True)
