"""Intake's domain logic: units, applications, their versions, submission and district review (no HTTP here)."""
from __future__ import annotations

import functools
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from common.auth import Principal
from common.clock import CHINA_TZ, Clock
from common.parameters import UnknownEdition, load_edition
from common.problems import Conflict, Forbidden, NotFound, Unprocessable
from common.webhooks import publish

from .forms import ApplicationContent, ApplicationContentRead
from .models import (WEBHOOKS, Applicant, Application, ApplicationVersion, AuditHead, Document, OutboxMessage,
                     ReviewRecord)
from .reevaluations import supersede_pending
from .schemas import ApplicantCreate, ApplicantRead, ApplicationCreate, ApplicationRead

# G1.3.1, G1.3.2, G3.2: one such project per unit and edition
SINGLE_PROJECT_CLAUSES = {"platform_construction": "G1.3.1", "platform_operation": "G1.3.2", "brand": "G3.2"}
CITY_ROLES = {"city_officer", "admin", "service", "finance_officer", "auditor", "expert"}
UNMASKED_ROLES = {"service", "finance_officer", "admin"}
EDITABLE = {"draft", "returned"}


@functools.lru_cache(maxsize=1)
def districts() -> dict[str, dict]:
    """Dalian's divisions by code (reference data)."""
    rows = yaml.safe_load((Path(__file__).parent / "districts.yaml").read_text(encoding="utf-8"))
    return {row["code"]: row for row in rows}


def lock_for_writing(session: Session) -> None:
    """Take the audit chain's head first, as every writing request does (common.db.get_session), on PostgreSQL.

    Work done outside a request (the outbox, an upload's own transaction) keeps the same lock order, head then
    rows, so it can never deadlock against a request; holding the head also serialises writers, so what is read
    next stays true until the commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())


def mask(value: str, keep_start: int = 6, keep_end: int = 4) -> str:
    """`110105********1234`: enough to recognise, not enough to use."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def applicant_read(applicant: Applicant, principal: Principal) -> ApplicantRead:
    """The API view of a unit, with what an officer should review and the bank account masked for most roles."""
    division = applicant.uscc_division_code
    review = [] if division.startswith("2102") else [
        f"the USCC's division code {division} is not Dalian's (2102xx): registered outside Dalian? (G1.1.1)"]
    account = applicant.bank_account_number
    return ApplicantRead(
        id=applicant.id, uscc=applicant.uscc, name=applicant.name, legal_representative=applicant.legal_representative,
        district_code=applicant.district_code, district_name=districts()[applicant.district_code]["name"],
        uscc_division_code=division, needs_review=review, registered_capital=applicant.registered_capital,
        contact_name=applicant.contact_name, contact_phone=applicant.contact_phone,
        bank_account_name=applicant.bank_account_name, bank_name=applicant.bank_name,
        bank_account_number=account if principal.role in UNMASKED_ROLES else mask(account, 4, 4),
        created_at=applicant.created_at)


def content_read(content: dict, principal: Principal) -> ApplicationContentRead:
    """An application's forms as a caller sees them: trainees' national ID numbers masked for most roles."""
    if principal.role not in UNMASKED_ROLES and content.get("f8_trainees"):
        content = {**content, "f8_trainees": [{**t, "national_id": mask(t["national_id"])}
                                              for t in content["f8_trainees"]]}
    return ApplicationContentRead.model_validate(content)


def application_read(app: Application, principal: Principal) -> ApplicationRead:
    """The API view of an application; trainees' national ID numbers masked for most roles."""
    return ApplicationRead(
        id=app.id, applicant_id=app.applicant_id, edition=app.edition, project_type=app.project_type,
        status=app.status, version=app.version, content=content_read(app.content, principal),
        submitted_at=app.submitted_at, evaluation_status=app.evaluation_status,
        evaluation_attempts=app.evaluation_attempts, evaluation_error=app.evaluation_error,
        evaluation=app.evaluation, computation=app.computation, created_at=app.created_at, updated_at=app.updated_at)


def register_applicant(session: Session, data: ApplicantCreate, principal: Principal, clock: Clock) -> Applicant:
    """Register a unit; 409 when its USCC is already registered."""
    if principal.role == "applicant" and principal.unit_uscc != data.uscc:
        raise Forbidden(f"This applicant account acts for the unit {principal.unit_uscc or '(none)'}: it registers "
                        f"only that unit, not {data.uscc}.")
    if data.district_code not in districts():
        raise Unprocessable(f"{data.district_code} is not a Dalian district code; see GET /districts.",
                            errors=[{"field": "body.district_code", "message": "not a Dalian district",
                                     "code": "enum"}])
    if session.exec(select(Applicant.id).where(Applicant.uscc == data.uscc)).first() is not None:
        raise Conflict(f"The unit {data.uscc} is already registered.")
    applicant = Applicant(id=str(uuid.uuid4()), uscc_division_code=data.uscc[2:8], created_at=clock.now(),
                          **data.model_dump())
    session.add(applicant)
    try:
        session.flush()
    except IntegrityError:  # the same USCC registered by a concurrent request
        raise Conflict(f"The unit {data.uscc} is already registered.") from None
    return applicant


def _within_scope(query: Select, principal: Principal) -> Select:
    """Restrict a query joined with Applicant to what the caller may see (in the WHERE clause, never afterwards)."""
    if principal.role == "applicant":
        return query.where(Applicant.uscc == principal.unit_uscc)
    if principal.role == "district_officer":
        return query.where(Applicant.district_code == principal.district_code)
    if principal.role in CITY_ROLES:
        return query
    return query.where(False)


def scoped_applicants(principal: Principal) -> Select:
    """The units a caller may see, as a query."""
    return _within_scope(select(Applicant), principal)


def scoped_applications(principal: Principal) -> Select:
    """The applications a caller may see, joined with their unit, as a query."""
    return _within_scope(select(Application).join(Applicant, Applicant.id == Application.applicant_id), principal)


def get_applicant(session: Session, applicant_id: str, principal: Principal) -> Applicant:
    """A unit the caller may see; 404 otherwise, whether it exists or not."""
    applicant = session.exec(scoped_applicants(principal).where(Applicant.id == applicant_id)).first()
    if applicant is None:
        raise NotFound(f"No applicant {applicant_id}.")
    return applicant


def get_application(session: Session, application_id: str, principal: Principal, *, lock: bool = False) -> Application:
    """An application the caller may see; 404 otherwise."""
    query = scoped_applications(principal).where(Application.id == application_id)
    if lock:
        query = query.with_for_update(of=Application)
    application = session.exec(query).first()
    if application is None:
        raise NotFound(f"No application {application_id}.")
    return application


def _edition(name: str):
    try:
        return load_edition(name)
    except UnknownEdition as exc:
        raise Unprocessable(str(exc), errors=[{"field": "body.edition", "message": str(exc), "code": "enum"}]) from None


def check_content(session: Session, edition_name: str, project_type: str, content: ApplicationContent,
                  applicant_id: str, application_id: str | None = None) -> None:
    """Rules of the forms that depend on the edition: expense kinds per type, at most five certifications per unit."""
    edition = _edition(edition_name)
    limit, clause = edition.cited("certification.max_items")
    if content.f5_certifications is not None:
        # G2.2 counts a unit's certification items, however many applications it spreads them over
        others = session.exec(select(Application.content).where(
            Application.applicant_id == applicant_id, Application.edition == edition_name,
            Application.project_type == "certification", Application.status != "rejected",
            Application.id != (application_id or ""))).all()
        elsewhere = sum(len(other.get("f5_certifications") or []) for other in others)
        if elsewhere + len(content.f5_certifications) > limit:
            also = f" and its other applications list {elsewhere}" if elsewhere else ""
            raise Unprocessable(f"At most {limit} certification items may be claimed per unit ({clause}); this form "
                                f"lists {len(content.f5_certifications)}{also}.", clause=clause,
                                errors=[{"field": "body.content.f5_certifications",
                                         "message": f"the limit is {limit} items per unit", "code": "too_long"}])
    if content.f3_expenses:
        key = f"{project_type}.eligible_expense_kinds"
        allowed = set(edition.value(key)) if key in edition.parameters else set()
        allowed.add("software_development_self")  # accepted so that the trace can say why it does not count
        for index, line in enumerate(content.f3_expenses):
            if line.expense_kind not in allowed:
                raise Unprocessable(
                    f"Expense line {line.line_no}: '{line.expense_kind}' is not an expense kind of {project_type}.",
                    clause=edition.param(key).clause if key in edition.parameters else None,
                    errors=[{"field": f"body.content.f3_expenses.{index}.expense_kind",
                             "message": f"one of {', '.join(sorted(allowed))}", "code": "enum"}])


def create_application(session: Session, data: ApplicationCreate, principal: Principal, clock: Clock) -> Application:
    """A new draft; 409 citing the clause when the unit already has its one project of that type."""
    applicant = get_applicant(session, data.applicant_id, principal)
    if principal.role not in ("applicant", "admin", "service"):
        raise NotFound("Only the unit itself creates its applications.")
    check_content(session, data.edition, data.project_type, data.content, applicant.id)
    single_key = None
    if data.project_type in SINGLE_PROJECT_CLAUSES:
        single_key = f"{applicant.id}/{data.edition}/{data.project_type}"
        taken = session.exec(select(Application.id).where(Application.single_project_key == single_key)).first()
        if taken is not None:
            clause = SINGLE_PROJECT_CLAUSES[data.project_type]
            raise Conflict(f"A unit may apply for one {data.project_type} project per edition ({clause}); "
                           f"application {taken} already exists.", clause=clause, existing_application_id=taken)
    now = clock.now()
    content = data.content.model_dump(mode="json", exclude_none=True)
    application = Application(id=str(uuid.uuid4()), applicant_id=applicant.id, edition=data.edition,
                              project_type=data.project_type, single_project_key=single_key, status="draft",
                              content=content, version=1, created_at=now, updated_at=now)
    session.add(application)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request took the unit's one project of this type
        clause = SINGLE_PROJECT_CLAUSES[data.project_type]
        raise Conflict(f"A unit may apply for one {data.project_type} project per edition ({clause}).",
                       clause=clause) from None
    session.add(ApplicationVersion(application_id=application.id, version=1, content=content,
                                   changed_by=principal.subject, changed_at=now))
    return application


def update_content(session: Session, application_id: str, content: ApplicationContent, principal: Principal,
                   clock: Clock) -> Application:
    """Replace a draft's forms, keeping the previous version."""
    application = get_application(session, application_id, principal, lock=True)
    _require_own_unit(principal)
    if application.status not in EDITABLE:
        raise Conflict(f"The application is {application.status}: only drafts and returned applications change.")
    check_content(session, application.edition, application.project_type, content, application.applicant_id,
                  application.id)
    now = clock.now()
    application.content = content.model_dump(mode="json", exclude_none=True)
    application.version += 1
    application.updated_at = now
    session.add(application)
    session.add(ApplicationVersion(application_id=application.id, version=application.version,
                                   content=application.content, changed_by=principal.subject, changed_at=now))
    session.flush()
    return application


def _require_own_unit(principal: Principal) -> None:
    if principal.role not in ("applicant", "admin"):
        raise NotFound("Only the unit itself changes its application.")


def end_of_day(day) -> datetime:
    """The last instant of a calendar day in Asia/Shanghai (a deadline "于 X 前" includes day X)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)


def submit(session: Session, application_id: str, principal: Principal, clock: Clock) -> Application:
    """Freeze the application, stamp it, and queue its evaluation; refused after the deadline (N3.5)."""
    application = get_application(session, application_id, principal, lock=True)
    _require_own_unit(principal)
    if application.status not in EDITABLE:
        raise Conflict(f"The application is already {application.status}.")
    edition = load_edition(application.edition)
    deadline, clause = edition.cited("deadlines.applicant_submission")
    now = clock.now()
    if now >= end_of_day(deadline):
        raise Conflict(f"Submissions closed at the end of {deadline.isoformat()} (Asia/Shanghai) ({clause}).",
                       clause=clause, deadline=deadline.isoformat())
    sections, sections_clause = required_sections(edition, application)
    unfilled = [name for name in sections if not application.content.get(name)]
    if unfilled:
        raise Unprocessable(f"Forms not filled for {application.project_type} ({sections_clause}): "
                            f"{', '.join(unfilled)}.", clause=sections_clause, missing_sections=unfilled,
                            errors=[{"field": f"content.{name}", "message": "required before submission",
                                     "code": "missing"} for name in unfilled])
    required, materials_clause = required_materials(edition, application)
    present = set(session.exec(select(Document.kind).where(Document.application_id == application.id)).all())
    missing = [kind for kind in required if kind not in present]
    if missing:
        raise Unprocessable(f"Documents missing for {application.project_type} ({materials_clause}): "
                            f"{', '.join(missing)}.", clause=materials_clause, missing_documents=missing)
    application.status = "submitted"
    application.submitted_at = now
    application.evaluation_status = "pending"
    application.evaluation_attempts = 0
    application.evaluation_error = None
    application.updated_at = now
    session.add(application)
    # a resubmission replaces what an earlier submission still had queued: only the latest content is evaluated
    supersede_pending(session, OutboxMessage.application_id == application.id)
    # the outbox row commits with the submission: the evaluation cannot be lost, whoever is down
    # its timing is operational (due at once by the real clock), whatever instant the programme's clock is fixed to
    queued = datetime.now(timezone.utc)
    session.add(OutboxMessage(id=str(uuid.uuid4()), application_id=application.id, status="pending", attempts=0,
                              next_attempt_at=queued, created_at=queued))
    publish(session, WEBHOOKS, "application.submitted", "application", application.id,
            event_summary(application), now)
    session.flush()
    return application


def _by_title(edition, application: Application, family: str) -> tuple[list[str], str]:
    """What a brand application's award title adds to a family of parameters (G3.3)."""
    title = (application.content.get("award") or {}).get("title")
    key = f"{family}.brand_by_title.{title}"
    if application.project_type != "brand" or key not in edition.parameters:
        return [], ""
    value, clause = edition.cited(key)
    return list(value), clause


def required_sections(edition, application: Application) -> tuple[list[str], str]:
    """The content sections its type (and, for a brand, its title) must fill before submission, and the clause."""
    base, clause = edition.cited(f"sections.{application.project_type}")
    extra, _ = _by_title(edition, application, "sections")
    return list(base) + [s for s in extra if s not in base], clause


def required_materials(edition, application: Application) -> tuple[list[str], str]:
    """The document kinds its type (and, for a brand, its title) requires, and the clause (materials lists)."""
    base, clause = edition.cited(f"materials.{application.project_type}")
    extra, _ = _by_title(edition, application, "materials")
    return list(base) + [k for k in extra if k not in base], clause


def event_summary(application: Application) -> dict:
    """What an event about an application carries (subscribers fetch the rest with their own token)."""
    return {"application_id": application.id, "applicant_id": application.applicant_id,
            "edition": application.edition, "project_type": application.project_type, "status": application.status,
            "version": application.version}


def review(session: Session, application_id: str, decision: str, reason: str, principal: Principal,
           clock: Clock) -> Application:
    """A district officer's decision on a submitted application of its district (N4.1)."""
    if principal.role not in ("district_officer", "admin"):
        raise NotFound("Only the district office reviews its district's applications.")
    application = get_application(session, application_id, principal, lock=True)
    if application.status != "submitted":
        raise Conflict(f"Only submitted applications are reviewed; this one is {application.status}.")
    if decision != "pass" and not reason.strip():
        raise Unprocessable("A reason is required to return or reject an application.",
                            errors=[{"field": "body.reason", "message": "required", "code": "missing"}])
    application.status = {"pass": "district_passed", "return": "returned", "reject": "rejected"}[decision]
    application.updated_at = clock.now()
    session.add(application)
    session.add(ReviewRecord(id=str(uuid.uuid4()), application_id=application.id, decision=decision, reason=reason,
                             decided_by=principal.subject, decided_at=application.updated_at))
    event = {"pass": "application.passed", "return": "application.returned", "reject": "application.rejected"}
    publish(session, WEBHOOKS, event[decision], "application", application.id,
            {**event_summary(application), "reason": reason}, application.updated_at)
    session.flush()
    return application


def list_applications(session: Session, principal: Principal, *, status: str | None, project_type: str | None,
                      district_code: str | None, edition: str | None, limit: int, offset: int,
                      sort: str = "-created_at", applicant_id: str | None = None):
    """A page of the applications the caller may see, in the order asked, and their count."""
    # the city sees every application: the join with the units is made only when the scope or a filter needs it
    # (joined, counting an edition's applications hashed all 20,000 units for every page)
    needs_unit = district_code is not None or principal.role not in CITY_ROLES
    query = scoped_applications(principal) if needs_unit else select(Application)
    for column, value in ((Application.status, status), (Application.project_type, project_type),
                          (Applicant.district_code, district_code), (Application.edition, edition),
                          (Application.applicant_id, applicant_id)):
        if value is not None:
            query = query.where(column == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    column = getattr(Application, sort.lstrip("-"))
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.exec(query.order_by(order, Application.id).limit(limit).offset(offset))
    return list(rows.all()), total


def dossier(session: Session, application: Application) -> dict:
    """The self-contained dossier eligibility and calculation receive (docs/dossier.md)."""
    applicant = session.get(Applicant, application.applicant_id)
    return {**dossier_head(application, applicant, application.content), "content": application.content}


def dossier_head(application, applicant, content: dict) -> dict:
    """A dossier's fields but its content, from an application and its unit (rows or objects with their columns)."""
    return {
        "edition": application.edition, "application_id": application.id, "project_type": application.project_type,
        "submitted_at": application.submitted_at.isoformat() if application.submitted_at else None,
        "applicant": {"uscc": applicant.uscc, "name": applicant.name, "district_code": applicant.district_code,
                      # declared by pledge 1 of the commitment letter (附件1): 依法注册，具有独立法人资格
                      "independent_legal_person": bool(content.get("f1_commitment", {})
                                                       .get("pledges", {}).get("lawful_registration"))},
    }
