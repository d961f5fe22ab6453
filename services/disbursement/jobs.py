"""Disbursement's jobs (common/jobs.py): bank statements applied line by line, large plans exported."""
from __future__ import annotations

from sqlmodel import Session

from common.jobs import MAX_ERRORS_KEPT, FileJob, JobContext, Jobs, Line, LineJob, Outcome

from . import exports, payments, plans
from .models import AuditHead, Job, JobPart


class BankStatementImport(LineJob):
    """A bank statement: each line a payment's result (N4.5), recorded on one statement record."""

    kind = "bank-statement"

    def read(self, data: bytes, media_type: str, params: dict) -> list[Line]:
        """The statement's lines; an unreadable file or header refuses it at once."""
        return payments.statement_lines(data)

    def start(self, session: Session, ctx: JobContext) -> None:
        """The statement's record, in the first chunk's transaction."""
        statement = payments.open_statement(session, ctx.params["sha256"], ctx.principal, ctx.clock)
        ctx.result_ref = statement.id

    def apply(self, session: Session, ctx: JobContext, items: list[tuple[Line, dict]]) -> list[Outcome]:
        """Each line's payment result; a refused line changes no payment and is named on the statement."""
        results = []
        for line, row in items:
            outcome, error = payments.apply_statement_line(session, ctx.result_ref, row, ctx.clock)
            results.append((line.number, row.get("end_to_end_id") or "", outcome, error))
        payments.count_statement_lines(session, ctx.result_ref, results, MAX_ERRORS_KEPT)
        return [Outcome(line, outcome, e2e, error or "") for line, e2e, outcome, error in results]


class PlanExport(FileJob):
    """A plan version as CSV or XLSX for the public notice, made in the background (large plans)."""

    kind = "plan-export"

    def make(self, session: Session, ctx: JobContext) -> tuple[bytes, str, str]:
        """The plan's file as the direct export makes it."""
        plan = plans.plan_read(session, plans.get_plan(session, ctx.params["plan_id"], ctx.principal))
        return exports.plan_file(plan, ctx.params["format"])


JOBS = Jobs(job=Job, part=JobPart, kinds={"bank-statement": BankStatementImport(), "plan-export": PlanExport()},
            base_url="/api/v1/disbursement", readers=("finance_officer", "city_officer", "admin"),
            audit_head=AuditHead)
