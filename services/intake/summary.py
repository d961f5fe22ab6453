"""The district summary table (附件2 汇总表) of passed projects, and the district's submission to the city (N4.1)."""
from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

from openpyxl import Workbook
from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock, china_date
from common.problems import Conflict, NotFound

from .forms import PROJECT_TYPE_LABELS
from .models import Applicant, Application, DistrictSubmission, ReviewRecord
from .service import districts, end_of_day, load_edition

COLUMNS = ["申报单位", "统一社会信用代码", "项目类型", "申请金额（万元）", "核定金额（元）", "区市县", "初审日期"]
WAN = Decimal("10000")


def requested_yuan(application: Application) -> Decimal | None:
    """What the unit asks for on its forms: F5's requested amounts, or the F2/F3 expense total."""
    content = application.content
    if content.get("f5_certifications"):
        return sum((Decimal(c["requested"]) for c in content["f5_certifications"]), Decimal("0.00"))
    if content.get("f2_platform", {}).get("expense_total"):
        return Decimal(content["f2_platform"]["expense_total"])
    if content.get("f3_expenses"):
        return sum((Decimal(x["invoice_amount"]) for x in content["f3_expenses"]), Decimal("0.00"))
    return None


def check_district(principal: Principal, district_code: str) -> None:
    """404 unless the district exists and is in the caller's scope."""
    if district_code not in districts():
        raise NotFound(f"No district {district_code}.")
    if principal.role == "district_officer" and principal.district_code != district_code:
        raise NotFound(f"No district {district_code} in your scope.")


def rows(session: Session, principal: Principal, district_code: str, edition: str) -> list[list[str]]:
    """The summary table's rows: every district-passed project of the district and edition."""
    check_district(principal, district_code)
    query = (select(Application, Applicant).join(Applicant, Applicant.id == Application.applicant_id)
             .where(Applicant.district_code == district_code, Application.edition == edition,
                    Application.status == "district_passed").order_by(Applicant.name, Application.id))
    found = session.exec(query).all()
    # each project's latest review, read in one query: the table may hold tens of thousands of projects
    reviewed: dict[str, ReviewRecord] = {}
    for review in session.exec(select(ReviewRecord).where(ReviewRecord.application_id.in_(
            select(Application.id).join(Applicant, Applicant.id == Application.applicant_id)
            .where(Applicant.district_code == district_code, Application.edition == edition,
                   Application.status == "district_passed"))).order_by(ReviewRecord.decided_at)):
        reviewed[review.application_id] = review
    out = []
    for application, applicant in found:
        review = reviewed.get(application.id)
        requested = requested_yuan(application)
        computed = (application.computation or {}).get("amount")
        out.append([applicant.name, applicant.uscc, PROJECT_TYPE_LABELS[application.project_type],
                    f"{requested / WAN:.4f}" if requested is not None else "", computed or "",
                    districts()[district_code]["name"],
                    china_date(review.decided_at).isoformat() if review else ""])
    return out


def summary_file(session: Session, principal: Principal, district_code: str, edition: str, format: str
                 ) -> tuple[bytes, str, str]:
    """The summary table as a file: content, media type, file name."""
    table = rows(session, principal, district_code, edition)
    name = f"summary-{district_code}-{edition}.{format}"
    if format == "csv":
        return as_csv(table), "text/csv; charset=utf-8", name
    return (as_xlsx(table, f"{edition}年支持服务贸易创新发展项目申请汇总表（{district_code}）"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name)


def as_csv(table: list[list[str]]) -> bytes:
    """UTF-8 CSV with a BOM, so that spreadsheet programs read the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(table: list[list[str]], title: str) -> bytes:
    """The same table as an XLSX workbook."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "汇总表"
    sheet.append([title])
    sheet.append(COLUMNS)
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def submit_to_city(session: Session, principal: Principal, district_code: str, edition: str,
                   clock: Clock) -> DistrictSubmission:
    """Stamp the district's sending of its passed projects; refused after the deadline (N4.1) or twice."""
    check_district(principal, district_code)
    if principal.role not in ("district_officer", "admin"):
        raise NotFound("Only the district office sends its summary to the city.")
    deadline, clause = load_edition(edition).cited("deadlines.district_submission")
    now = clock.now()
    if now >= end_of_day(deadline):
        raise Conflict(f"Districts send their passed projects to the city by the end of {deadline.isoformat()} "
                       f"(Asia/Shanghai) ({clause}).", clause=clause, deadline=deadline.isoformat())
    existing = session.exec(select(DistrictSubmission).where(DistrictSubmission.district_code == district_code,
                                                             DistrictSubmission.edition == edition)).first()
    if existing is not None:
        raise Conflict(f"District {district_code} already sent its {edition} summary on "
                       f"{existing.submitted_at.isoformat()}.")
    record = DistrictSubmission(id=str(uuid.uuid4()), district_code=district_code, edition=edition,
                                project_count=len(rows(session, principal, district_code, edition)),
                                submitted_by=principal.subject, submitted_at=now)
    session.add(record)
    session.flush()
    return record
