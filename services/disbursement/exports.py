"""A plan version as the public notice shows it (公示): CSV and XLSX, amounts exact to the fen."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from .schemas import PlanRead

PROJECT_TYPES_ZH = {
    "platform_construction": "平台建设", "platform_operation": "平台运维", "certification": "国际资质认证",
    "brand": "品牌建设", "interest_subsidy": "服务外包业务贴息", "tcm_construction": "中医药基地建设",
    "tcm_operation": "中医药基地运维及品牌推广",
}
STATUS_ZH = {"draft": "草稿", "published": "公示中", "final": "最终", "superseded": "已被新版本取代"}
HEADER = ["序号", "申报单位", "统一社会信用代码", "所属区市县代码", "项目类型", "审计核定金额（元）",
          "单位限额后金额（元）", "拟支持金额（元）"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows(plan: PlanRead) -> list[list[str]]:
    """One row per project, amounts as two-place strings."""
    return [[str(n), i.unit_name, i.uscc, i.district_code, PROJECT_TYPES_ZH.get(i.project_type, i.project_type),
             f"{i.computed_amount:.2f}", f"{i.capped_amount:.2f}", f"{i.allocated_amount:.2f}"]
            for n, i in enumerate(plan.items, start=1)]


def to_csv(plan: PlanRead) -> bytes:
    """UTF-8 CSV with a BOM (so that spreadsheet programs read the Chinese), one header line, one line a project."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER, *rows(plan)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(plan: PlanRead) -> bytes:
    """A workbook: title, notice period, the table, and the total; amounts are exact decimal numbers."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"v{plan.version}"
    sheet.append([f"{plan.edition}年度专项资金拟支持项目资金分配方案（第{plan.version}版，{STATUS_ZH[plan.status]}）"])
    sheet["A1"].font = Font(bold=True)
    period = (f"公示期：{plan.published_on} 至 {plan.notice_ends_on}（{plan.notice_working_days}个工作日）"
              if plan.published_on else "未公示")
    sheet.append([period, None, None, None, f"专项资金规模（元）：{plan.budget:.2f}",
                  f"统筹调整系数：{plan.scaling_factor}"])
    sheet.append(HEADER)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows(plan):
        sheet.append([int(row[0]), *row[1:5], *(Decimal(v) for v in row[5:])])
        for cell in sheet[sheet.max_row][5:]:
            cell.number_format = "#,##0.00"
    sheet.append([None, "合计", None, None, None, None, None, plan.total])
    sheet.cell(row=sheet.max_row, column=8).number_format = "#,##0.00"
    for column, width in zip("ABCDEFGH", (6, 36, 22, 14, 22, 18, 18, 18)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def plan_file(plan: PlanRead, format: str) -> tuple[bytes, str, str]:
    """The plan version's file in a format (csv or xlsx): content, media type, file name."""
    name = f"plan-{plan.edition}-v{plan.version}.{format}"
    if format == "csv":
        return to_csv(plan), "text/csv; charset=utf-8", name
    return to_xlsx(plan), XLSX_MEDIA_TYPE, name
