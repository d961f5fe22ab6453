"""Intake's jobs (common/jobs.py): a district's summary table made in the background, however many projects."""
from __future__ import annotations

from sqlmodel import Session

from common.jobs import FileJob, JobContext, Jobs

from . import summary
from .models import AuditHead, Job, JobPart


class SummaryExport(FileJob):
    """The district summary table (附件2 汇总表) as CSV or XLSX, in the submitter's scope."""

    kind = "summary-export"

    def make(self, session: Session, ctx: JobContext) -> tuple[bytes, str, str]:
        """The table's file, as the direct export makes it."""
        return summary.summary_file(session, ctx.principal, ctx.params["district_code"], ctx.params["edition"],
                                    ctx.params["format"])


JOBS = Jobs(job=Job, part=JobPart, kinds={"summary-export": SummaryExport()}, base_url="/api/v1/intake",
            readers=("district_officer", "city_officer", "admin"), audit_head=AuditHead)
