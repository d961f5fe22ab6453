"""Builders of realistic request bodies: valid USCCs, filled forms, small real PDFs."""
from __future__ import annotations

import random
import string
from datetime import date

from stdnum.cn import uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 excludes I, O, S, V, Z
PLEDGES = {k: True for k in ("lawful_registration", "complete_materials", "authentic_materials",
                             "copies_match_originals", "credit_clean", "no_other_fiscal_support",
                             "accept_verification")}


def new_uscc(division: str = "210202") -> str:
    """A valid unified social credit code registered in `division`."""
    body = "91" + division + "".join(random.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def pdf_bytes(text: str = "evidence") -> bytes:
    """A small but real one-page PDF."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def applicant_body(unit_uscc: str, district: str = "210202") -> dict:
    """Registration of a unit."""
    return {"uscc": unit_uscc, "name": f"大连{''.join(random.choices(string.ascii_uppercase, k=4))}科技有限公司",
            "legal_representative": "张三", "district_code": district, "registered_capital": "5000000.00",
            "contact_name": "李四", "contact_phone": "0411-83686326", "bank_account_name": "大连示例科技有限公司",
            "bank_name": "中国银行大连分行", "bank_account_number": "6217000012345678901"}


def platform_construction_content(expenses: list[tuple[str, str, str]] | None = None, firms: int = 5,
                                  completed_on: str = "2024-03-15") -> dict:
    """Forms of a platform construction project: (kind, amount, invoice date) per expense line."""
    expenses = expenses or [("server", "120000.00", "2024-03-01"), ("licensed_software", "80000.00", "2024-04-01")]
    return {
        "f1_commitment": {"pledges": PLEDGES, "signatory": "张三", "signed_on": "2025-12-01"},
        "f2_platform": {"platform_name": f"大连服务外包公共服务平台{random.randint(0, 10**9)}", "completed_on": completed_on,
                        "main_services": "检验检测", "served_firm_count": firms},
        "f3_expenses": [{"line_no": i, "content": f"{kind} 采购", "expense_kind": kind, "contract_amount": amount,
                         "invoice_amount": amount, "paid_amount": amount, "invoice_number": f"0440{random.randint(0, 10**8):08d}",
                         "invoice_date": day, "exhibit_page": str(10 + i)}
                        for i, (kind, amount, day) in enumerate(expenses, 1)],
        "f4_served_firms": [{"line_no": i, "name": f"大连服务企业{i}", "uscc": new_uscc(), "service": "检验检测"}
                            for i in range(1, firms + 1)],
    }


PLATFORM_MATERIALS = ["business_licence", "application_report", "feasibility_study", "commitment_letter",
                      "special_audit_report"]
TODAY = date(2025, 12, 10)


def certification_dossier(uscc: str, approved: str) -> dict:
    """A certification dossier (one new CMMI certification) of a unit whose offshore execution was `approved` USD."""
    return {"edition": "2024", "project_type": "certification", "applicant": {"uscc": uscc},
            "content": {"f1_commitment": {"pledges": PLEDGES}, "offshore_execution": {"approved_usd": approved},
                        "f5_certifications": [{"line_no": 1, "scheme": "CMMI", "kind": "new",
                                               "certified_on": "2024-05-01", "fee": "1000.00", "requested": "700.00"}]}}


def platform_dossier(uscc: str, application_id: str | None = None, invoices: list[str] | None = None,
                     **extra) -> dict:
    """A platform construction dossier claiming these invoice numbers on its first lines (submitted with an id)."""
    content = platform_construction_content()
    for line, number in zip(content["f3_expenses"], invoices or []):
        line["invoice_number"] = number
    return {"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": uscc},
            "application_id": application_id, "content": content,
            "submitted_at": "2025-12-10T10:00:00+08:00" if application_id else None, **extra}
