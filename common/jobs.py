"""Long work as durable jobs: accepted at once (202 and the job's URL), run in the background, resumable.

A service declares two tables from the bases below on its own table base (`class Job(EligibilityTable, JobBase,
table=True)` and the same for `JobPartBase`), describes each kind of job with a `LineJob` (an import: lines read
from the input, applied a chunk at a time) or a `FileJob` (an export: one file made), and builds a `Jobs` from
them: `submit` in the accepting route, `router()` for `GET /jobs…`, `worker()` in its lifespan.

The input is kept with the job (its bytes in the job row, within the route's body limit), so a job survives any
restart. A worker claims a job by compare-and-set under a lease and commits each chunk's lines together with the
job's progress, only while it still holds the job: two replicas never apply one chunk twice, and a job whose
worker died is taken over when its lease runs out and resumes after the last committed chunk. Within a chunk each
line is all or nothing: a line that cannot be stored is undone alone and reported with its line number.
"""
from __future__ import annotations

import asyncio
import contextvars
import csv
import io
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings
from sqlalchemy import JSON, BigInteger, Index, LargeBinary, and_, func, or_, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import declared_attr
from sqlmodel import Session, SQLModel
from sqlmodel import Field as SQLField

from .auth import Principal, PrincipalDep, principal_var, require_roles
from .db import SessionDep, UtcDateTime, is_sqlite, lock_audit_head_first
from .logging import request_id_var
from .pagination import Page, PageDep
from .problems import Conflict, NotFound, Problem, problem_responses
from .worker import PollingWorker

log = logging.getLogger("fundflow.jobs")

MAX_ERRORS_KEPT = 1000  # the job keeps the first ones; `failed` counts them all, the result file lists them all
MAX_ATTEMPTS = 10  # claims of one job (restarts included) before it is given up
OUTCOMES_HEADER = "line,outcome,id,message\r\n"
JobId = Annotated[str, Path(max_length=36, description="Job id (the Location of the 202 answer)")]
JobStatus = Literal["queued", "running", "succeeded", "failed"]


def _utcnow() -> datetime:
    # leases and progress follow the real clock even when the programme's clock is fixed
    return datetime.now(timezone.utc)


class JobSettings(BaseSettings):
    """Settings of a service that runs jobs (mixed into its settings class, under its env prefix)."""

    job_lease_s: float = Field(30.0, gt=0, description="Seconds a job stays claimed without progress before another "
                                                       "worker (or the restarted process) takes it over")
    job_poll_s: float = Field(0.5, gt=0, description="Seconds between looks for queued jobs when there are none")


# --- tables ----------------------------------------------------------------------------------------------------

class JobBase(SQLModel):
    """Columns of a job: its kind, input, progress, reported bad lines, and who asked for it."""

    __tablename__ = "job"
    __audit__ = False  # progress bookkeeping; what a job changes is audited line by line, in the submitter's name

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        """The indexes workers poll by (what is due) and a caller's listing reads by."""
        return (Index("ix_job_due", "status", "lease_until"), Index("ix_job_owner", "created_by", "created_at"))

    id: str = SQLField(primary_key=True, max_length=36)
    kind: str = SQLField(max_length=60)
    status: str = SQLField(default="queued", max_length=12)
    params: dict = SQLField(default_factory=dict, sa_type=JSON, nullable=False)
    input: bytes | None = SQLField(default=None, sa_type=LargeBinary, nullable=True)
    input_type: str | None = SQLField(default=None, max_length=120)
    input_bytes: int = SQLField(default=0, sa_type=BigInteger, nullable=False)
    total: int | None = SQLField(default=None)
    done: int = SQLField(default=0)
    succeeded: int = SQLField(default=0)
    failed: int = SQLField(default=0)
    errors: list = SQLField(default_factory=list, sa_type=JSON, nullable=False)
    message: str | None = SQLField(default=None, max_length=500)
    created_by: str = SQLField(max_length=100)
    principal: dict = SQLField(sa_type=JSON, nullable=False)
    request_id: str | None = SQLField(default=None, max_length=128)
    created_at: datetime = SQLField(sa_type=UtcDateTime, nullable=False)
    started_at: datetime | None = SQLField(default=None, sa_type=UtcDateTime, nullable=True)
    finished_at: datetime | None = SQLField(default=None, sa_type=UtcDateTime, nullable=True)
    lease_until: datetime | None = SQLField(default=None, sa_type=UtcDateTime, nullable=True)
    worker: str | None = SQLField(default=None, max_length=100)
    attempts: int = SQLField(default=0)
    result_type: str | None = SQLField(default=None, max_length=120)
    result_name: str | None = SQLField(default=None, max_length=200)
    result_ref: str | None = SQLField(default=None, max_length=64)


class JobPartBase(SQLModel):
    """A piece of a job's result file: one per chunk of an import (its lines' outcomes), one for an export."""

    __tablename__ = "job_part"
    __audit__ = False

    job_id: str = SQLField(primary_key=True, max_length=36)
    seq: int = SQLField(primary_key=True, sa_type=BigInteger, nullable=False)
    data: bytes = SQLField(sa_type=LargeBinary, nullable=False)


# --- kinds of job ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One line of an input: its number in the file (or position in a JSON list) and what it holds."""

    number: int
    data: Any


@dataclass(frozen=True)
class Outcome:
    """What became of one line: created, updated, unchanged or error, the record it names, and why."""

    line: int
    outcome: str
    ref: str = ""
    message: str = ""


class LineError(Exception):
    """A line that cannot be applied; its message is reported with the line's number."""


@dataclass
class JobContext:
    """What a job's code sees of its job: id, parameters, the submitter (acting as them), and the clock."""

    job_id: str
    params: dict
    principal: Principal
    clock: Any
    result_ref: str | None = None  # a record the job made (a statement, …), shown on the job


class LineJob:
    """A kind of import: lines read from the input, checked one by one, applied in chunks."""

    kind = ""
    chunk = 500

    def read(self, data: bytes, media_type: str, params: dict) -> list[Line]:
        """Every line of the input in order; a Problem when the input as a whole is unreadable (checked at submit)."""
        raise NotImplementedError

    def check(self, line: Line, ctx: JobContext) -> Any:
        """The line's validated content (no database); LineError or ValueError for a bad line."""
        return line.data

    def apply(self, session: Session, ctx: JobContext, items: list[tuple[Line, Any]]) -> list[Outcome]:
        """Apply checked lines in the chunk's transaction (flushing), one outcome each.

        It may answer an error outcome for a line it changed nothing for; anything it raises undoes the chunk,
        which is then applied again one line at a time so that only the offending lines are refused.
        """
        raise NotImplementedError

    def start(self, session: Session, ctx: JobContext) -> None:
        """Called in the first chunk's transaction (a record the whole import belongs to, …)."""

    def finish(self, session: Session, ctx: JobContext, job) -> None:
        """Called in the last transaction, once every line is done."""


class FileJob:
    """A kind of export: one file made from the database."""

    kind = ""

    def make(self, session: Session, ctx: JobContext) -> tuple[bytes, str, str]:
        """The file: content, media type, file name; a Problem fails the job with its detail."""
        raise NotImplementedError


def validation_message(exc: Exception) -> str:
    """A line's validation error as one short sentence naming the fields."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"])
            parts.append(f"{where}: {err['msg']}" if where else err["msg"])
        return "; ".join(parts)[:500]
    return str(exc)[:500] or exc.__class__.__name__


def read_csv_lines(text: str, known: set[str] | None = None, required: set[str] | None = None) -> list[Line]:
    """The records of a CSV whose header names the fields, each with the file line it ends on; blanks are None."""
    reader = csv.DictReader(io.StringIO(text))
    names = {(f or "").strip() for f in reader.fieldnames or []}
    unknown = names - known if known is not None else set()
    if not reader.fieldnames or unknown or not (required or set()) <= names:
        from .problems import Unprocessable
        expected = ", ".join(sorted(known or required or []))
        raise Unprocessable(f"The CSV header names the fields of a line ({expected})"
                            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "") + ".")
    lines = []
    for row in reader:
        values = {(k or "").strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        lines.append(Line(reader.line_num, {k: (v if v not in ("", None) else None) for k, v in values.items()}))
    return lines


# --- answers ---------------------------------------------------------------------------------------------------

class JobLineError(BaseModel):
    """A line that was not applied."""

    line: int = Field(description="Line number in the file (the header is line 1); for a JSON list, the entry's "
                                  "position from 1")
    message: str = Field(description="Why it was refused")


class JobRead(BaseModel):
    """A job: where it stands, the lines refused so far, and where its result file is once it is done."""

    id: str = Field(description="Job id")
    kind: str = Field(description="What the job does, e.g. credit-entries-import")
    status: JobStatus = Field(description="queued, running, succeeded (bad lines may have been refused: see errors), "
                                          "or failed (the job as a whole: see message)")
    total: int | None = Field(description="Lines to process (1 for an export)")
    done: int = Field(description="Lines processed so far")
    succeeded: int = Field(description="Lines applied (kept)")
    failed: int = Field(description="Lines refused; every one is in the result file")
    errors: list[JobLineError] = Field(description=f"Refused lines with their numbers (the first {MAX_ERRORS_KEPT})")
    errors_truncated: bool = Field(description="More lines were refused than `errors` lists")
    message: str | None = Field(description="Why a failed job failed")
    created_by: str = Field(description="Who submitted it")
    created_at: datetime = Field(description="When it was accepted")
    started_at: datetime | None = Field(description="When a worker first took it")
    finished_at: datetime | None = Field(description="When it ended")
    result_ref: str | None = Field(description="A record the job made (e.g. the bank statement's id)")
    url: str = Field(description="This job, to poll")
    result_url: str | None = Field(description="The result file, once the job has ended")


JOB_EXAMPLE = {"id": "5b0c1f6e-2f4c-4b8e-9f53-3d3f1c7f9a10", "kind": "credit-entries-import", "status": "running",
               "total": 20000, "done": 8000, "succeeded": 7990, "failed": 10,
               "errors": [{"line": 17, "message": "uscc: not a valid unified social credit code"}],
               "errors_truncated": False, "message": None, "created_by": "officer-li",
               "created_at": "2025-12-10T02:00:00Z", "started_at": "2025-12-10T02:00:01Z", "finished_at": None,
               "result_ref": None, "url": "/api/v1/eligibility/jobs/5b0c1f6e-2f4c-4b8e-9f53-3d3f1c7f9a10",
               "result_url": None}


def accepted_responses(*problems: int) -> dict:
    """OpenAPI responses of a route that starts a job: 202 with a Location header, and its problems."""
    return {202: {"description": "Accepted: the job runs in the background; poll its URL (Location)",
                  "headers": {"Location": {"description": "The job's URL", "schema": {"type": "string"}}},
                  "content": {"application/json": {"example": {**JOB_EXAMPLE, "status": "queued", "done": 0,
                                                               "succeeded": 0, "failed": 0, "errors": [],
                                                               "started_at": None}}}},
            **problem_responses(*problems)}


# --- the service's jobs ----------------------------------------------------------------------------------------

@dataclass
class Jobs:
    """A service's jobs: its two tables, its kinds, and the URL prefix its jobs are reached at through the gateway."""

    job: type
    part: type
    kinds: dict[str, LineJob | FileJob]
    base_url: str  # e.g. /api/v1/eligibility
    readers: tuple[str, ...] = ("admin",)
    audit_head: type | None = None
    _columns: list = field(default_factory=list)

    def __post_init__(self) -> None:
        table = self.job.__table__
        self._columns = [c for c in table.c if c.name != "input"]

    # submitting

    def submit(self, session: Session, response: Response, principal: Principal, kind: str, *,
               data: bytes = b"", media_type: str = "", params: dict | None = None) -> JobRead:
        """Queue a job (an import's input checked as a whole first) and answer 202 with its Location."""
        handler = self.kinds[kind]
        params = params or {}
        total = len(handler.read(data, media_type, params)) if isinstance(handler, LineJob) else 1
        job = self.job(id=str(uuid.uuid4()), kind=kind, status="queued", params=params,
                       input=data if isinstance(handler, LineJob) else None, input_type=media_type or None,
                       input_bytes=len(data), total=total, created_by=principal.subject,
                       principal=principal.model_dump(), request_id=request_id_var.get(), created_at=_utcnow(),
                       errors=[])
        session.add(job)
        session.flush()
        response.status_code = 202
        response.headers["Location"] = self._url(job.id)
        return self.read(job)

    def _url(self, job_id: str) -> str:
        return f"{self.base_url}/jobs/{job_id}"

    def read(self, job) -> JobRead:
        """A job as the API shows it."""
        ended = job.status in ("succeeded", "failed")
        return JobRead(id=job.id, kind=job.kind, status=job.status, total=job.total, done=job.done,
                       succeeded=job.succeeded, failed=job.failed, errors=job.errors,
                       errors_truncated=job.failed > len(job.errors), message=job.message, created_by=job.created_by,
                       created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
                       result_ref=job.result_ref, url=self._url(job.id),
                       result_url=f"{self._url(job.id)}/result" if ended and job.result_type else None)

    # reading

    def _get(self, session: Session, job_id: str, principal: Principal):
        row = session.execute(select(*self._columns).where(self.job.__table__.c.id == job_id)).first()
        if row is None or not self._may_see(principal, row.created_by):
            raise NotFound(f"No job {job_id} of yours.")
        return row

    def _may_see(self, principal: Principal, owner: str) -> bool:
        return principal.role in ("admin", "service") or principal.subject == owner

    def router(self) -> APIRouter:
        """`GET /jobs` (the caller's), `GET /jobs/{job_id}` (progress) and `GET /jobs/{job_id}/result` (the file)."""
        router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(require_roles(*self.readers))])
        table = self.job.__table__

        @router.get("", response_model=Page[JobRead], responses=problem_responses(401, 403))
        def list_jobs(session: SessionDep, principal: PrincipalDep, page: PageDep) -> Page[JobRead]:
            """The caller's jobs (every job for an admin), newest first."""
            mine = [] if principal.role in ("admin", "service") else [table.c.created_by == principal.subject]
            total = session.execute(select(func.count()).select_from(table).where(*mine)).scalar_one()
            rows = session.execute(select(*self._columns).where(*mine).order_by(table.c.created_at.desc(),
                                                                                table.c.id)
                                   .limit(page.limit).offset(page.offset)).all()
            return Page[JobRead](items=[self.read(r) for r in rows], total=total, limit=page.limit,
                                 offset=page.offset)

        @router.get("/{job_id}", response_model=JobRead, responses={
            200: {"content": {"application/json": {"example": JOB_EXAMPLE}}}, **problem_responses(401, 403, 404)})
        def get_job(job_id: JobId, session: SessionDep, principal: PrincipalDep) -> JobRead:
            """A job's progress: lines done of total, lines refused with their numbers, its result once ended."""
            return self.read(self._get(session, job_id, principal))

        @router.get("/{job_id}/result", response_class=Response, responses={
            200: {"description": "The job's result file: for an import a CSV of every line's outcome "
                                 "(line,outcome,id,message), for an export the exported file",
                  "content": {"text/csv": {"schema": {"type": "string"},
                                           "example": OUTCOMES_HEADER + "2,created,0b1c…,\r\n3,error,,uscc: …\r\n"},
                              "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            **problem_responses(401, 403, 404, 409)})
        def get_job_result(job_id: JobId, session: SessionDep, principal: PrincipalDep) -> Response:
            """A job's result file, once the job has ended (409 before)."""
            job = self._get(session, job_id, principal)
            if job.status not in ("succeeded", "failed") or not job.result_type:
                raise Conflict(f"Job {job_id} is {job.status} ({job.done} of {job.total} done): "
                               "its result comes when it ends." if job.status in ("queued", "running")
                               else f"Job {job_id} failed without a result: {job.message}",
                               job_status=job.status)
            parts = session.execute(select(self.part.__table__.c.data).where(self.part.__table__.c.job_id == job_id)
                                    .order_by(self.part.__table__.c.seq)).scalars().all()
            prefix = OUTCOMES_HEADER.encode() if isinstance(self.kinds.get(job.kind), LineJob) else b""
            return Response(prefix + b"".join(parts), media_type=job.result_type,
                            headers={"Content-Disposition": f'attachment; filename="{job.result_name}"'})

        return router

    def worker(self, engine, clock, settings: JobSettings) -> "JobWorker":
        """The background runner of this service's jobs (start it in the lifespan, stop it on shutdown)."""
        return JobWorker(engine, self, clock, lease_s=settings.job_lease_s, poll_s=settings.job_poll_s)


# --- the runner ------------------------------------------------------------------------------------------------

class JobWorker(PollingWorker):
    """Claims one job at a time by compare-and-set under a lease and runs it chunk by chunk."""

    def __init__(self, engine, jobs: Jobs, clock, *, lease_s: float = 30.0, poll_s: float = 0.5) -> None:
        super().__init__(poll_s)
        self.engine, self.jobs, self.clock, self.lease_s = engine, jobs, clock, lease_s
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
        self.table = jobs.job.__table__

    async def round(self) -> bool:
        """Run one claimed job to its end; True when there was one."""
        claimed = await run_in_threadpool(self._claim)
        if claimed is None:
            return False
        job_id, lines = claimed
        try:
            while await run_in_threadpool(_in_own_context, self._step, job_id, lines):
                pass
        except asyncio.CancelledError:  # shutting down: free the job for whoever comes next
            await run_in_threadpool(self._release, job_id)
            raise
        except Exception:
            await run_in_threadpool(self._release, job_id)
            raise
        return True

    def _claim(self) -> tuple[str, list[Line] | None] | None:
        """Take the oldest queued job, or a running one whose lease ran out; None when there is none to take."""
        t, now = self.table, _utcnow()
        due = or_(t.c.status == "queued", and_(t.c.status == "running", t.c.lease_until < now))
        with Session(self.engine) as session:
            row = session.execute(select(t.c.id, t.c.attempts).where(due).order_by(t.c.created_at).limit(1)).first()
            if row is None:
                return None
            if row.attempts >= MAX_ATTEMPTS:
                session.execute(update(t).where(t.c.id == row.id, due).values(
                    status="failed", finished_at=now, worker=None, lease_until=None,
                    message=f"Given up after {MAX_ATTEMPTS} attempts; the service log names the failure."))
                session.commit()
                return None
            # compare-and-set: only one claimer sees its UPDATE match
            taken = session.execute(update(t).where(t.c.id == row.id, due).values(
                status="running", worker=self.name, lease_until=now + timedelta(seconds=self.lease_s),
                attempts=t.c.attempts + 1, started_at=func.coalesce(t.c.started_at, now)))
            session.commit()
            if taken.rowcount != 1:
                return None
            job = session.execute(select(t.c.kind, t.c.input, t.c.input_type, t.c.params)
                                  .where(t.c.id == row.id)).one()
        handler = self.jobs.kinds.get(job.kind)
        if isinstance(handler, LineJob):
            try:
                return row.id, handler.read(job.input or b"", job.input_type or "", job.params)
            except Problem as exc:  # accepted once, unreadable now: the job as a whole fails
                self._fail(row.id, exc.detail)
                return None
        if handler is None:
            self._fail(row.id, f"This service no longer runs jobs of kind {job.kind}.")
            return None
        return row.id, None

    def _fail(self, job_id: str, message: str) -> None:
        with Session(self.engine) as session:
            session.execute(update(self.table).where(self.table.c.id == job_id, self.table.c.worker == self.name)
                            .values(status="failed", message=message[:500], finished_at=_utcnow(), lease_until=None))
            session.commit()

    def _release(self, job_id: str) -> None:
        """Give a job back without waiting for its lease (its committed chunks stay)."""
        with Session(self.engine) as session:
            session.execute(update(self.table).where(self.table.c.id == job_id, self.table.c.worker == self.name,
                                                     self.table.c.status == "running")
                            .values(lease_until=_utcnow(), worker=None))
            session.commit()

    def _step(self, job_id: str, lines: list[Line] | None) -> bool:
        """One chunk (or the whole export) in one transaction, committed only while this worker holds the job."""
        t = self.table
        with Session(self.engine, expire_on_commit=False) as session:
            if self.jobs.audit_head is not None and not is_sqlite(self.engine):
                lock_audit_head_first(session, self.jobs.audit_head)  # the lock order every writer follows
            # renewing the lease first locks the job's row (PostgreSQL) or the database (SQLite) until commit
            held = session.execute(update(t).where(t.c.id == job_id, t.c.worker == self.name,
                                                   t.c.status == "running")
                                   .values(lease_until=_utcnow() + timedelta(seconds=self.lease_s)))
            if held.rowcount != 1:
                session.rollback()
                log.warning("job %s was taken over by another worker", job_id)
                return False
            job = session.execute(select(*self.jobs._columns).where(t.c.id == job_id)).one()
            principal = Principal(**job.principal)
            principal_var.set(principal)  # the audit trail names the submitter of every change the job makes
            request_id_var.set(job.request_id)
            ctx = JobContext(job_id=job_id, params=job.params, principal=principal, clock=self.clock,
                             result_ref=job.result_ref)
            handler = self.jobs.kinds[job.kind]
            if isinstance(handler, FileJob):
                more = self._export(session, handler, ctx, job)
            else:
                more = self._chunk(session, handler, ctx, job, lines or [])
            session.commit()
            return more

    def _export(self, session: Session, handler: FileJob, ctx: JobContext, job) -> bool:
        try:
            content, media_type, name = handler.make(session, ctx)
        except Problem as exc:
            session.execute(update(self.table).where(self.table.c.id == job.id).values(
                status="failed", message=exc.detail[:500], done=1, failed=1, finished_at=_utcnow(),
                lease_until=None))
            return False
        session.add(self.jobs.part(job_id=job.id, seq=0, data=content))
        session.execute(update(self.table).where(self.table.c.id == job.id).values(
            status="succeeded", done=1, succeeded=1, total=1, result_type=media_type, result_name=name,
            finished_at=_utcnow(), lease_until=None))
        return False

    def _chunk(self, session: Session, handler: LineJob, ctx: JobContext, job, lines: list[Line]) -> bool:
        start = job.done
        if start == 0:
            handler.start(session, ctx)
        chunk = lines[start:start + handler.chunk]
        outcomes = self._apply(session, handler, ctx, chunk) if chunk else []
        errors = [{"line": o.line, "message": o.message} for o in outcomes if o.outcome == "error"]
        done = start + len(chunk)
        values = {"done": done, "total": len(lines), "succeeded": job.succeeded + len(outcomes) - len(errors),
                  "failed": job.failed + len(errors), "result_ref": ctx.result_ref,
                  "result_type": "text/csv; charset=utf-8", "result_name": f"{job.kind}-{job.id}.csv"}
        if errors and len(job.errors) < MAX_ERRORS_KEPT:
            values["errors"] = [*job.errors, *errors][:MAX_ERRORS_KEPT]
        if outcomes:
            session.add(self.jobs.part(job_id=job.id, seq=start, data=_outcomes_csv(outcomes)))
        finished = done >= len(lines)
        if finished:
            session.flush()
            handler.finish(session, ctx, job)
            values.update(status="succeeded", finished_at=_utcnow(), lease_until=None, result_ref=ctx.result_ref)
        session.execute(update(self.table).where(self.table.c.id == job.id).values(**values))
        return not finished

    def _apply(self, session: Session, handler: LineJob, ctx: JobContext, chunk: list[Line]) -> list[Outcome]:
        """The chunk's outcomes in line order: checked lines applied together, or one by one if that fails."""
        refused: dict[int, Outcome] = {}
        checked = []
        for line in chunk:
            try:
                checked.append((line, handler.check(line, ctx)))
            except (LineError, ValueError) as exc:
                refused[line.number] = Outcome(line.number, "error", message=validation_message(exc))
        applied: list[Outcome] = []
        try:
            with session.begin_nested():
                applied = handler.apply(session, ctx, checked)
                session.flush()
        except (LineError, ValueError, IntegrityError, DataError):
            # something in the chunk cannot be stored: each line again on its own, so only the culprits are refused
            applied = []
            for item in checked:
                try:
                    with session.begin_nested():
                        applied += handler.apply(session, ctx, [item])
                        session.flush()
                except (LineError, ValueError, IntegrityError, DataError) as exc:
                    applied.append(Outcome(item[0].number, "error", message=_storage_message(exc)))
        by_line = {o.line: o for o in applied} | refused
        return [by_line[line.number] for line in chunk if line.number in by_line]


def _in_own_context(fn, *args):
    # the step sets the submitter as the acting principal: in a context of its own, never the pool thread's
    return contextvars.copy_context().run(fn, *args)


def _storage_message(exc: Exception) -> str:
    if isinstance(exc, (IntegrityError, DataError)):
        return f"could not be stored: {str(exc.orig).splitlines()[0][:200]}" if exc.orig else "could not be stored"
    return validation_message(exc)


def _outcomes_csv(outcomes: list[Outcome]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for o in outcomes:
        writer.writerow([o.line, o.outcome, o.ref, o.message])
    return out.getvalue().encode("utf-8")
