"""The paper package: the forms, an index and every exhibit in one page-numbered PDF, for those who may see it."""
from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader

from ..factories import PLATFORM_MATERIALS, pdf_bytes
from ..test_slice import submitted_platform_application


def png_bytes() -> bytes:
    """A photographed invoice, as a PNG with transparency."""
    buffer = io.BytesIO()
    Image.new("RGBA", (600, 900), (180, 20, 20, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_paper_package_is_one_numbered_pdf(system):
    client, applicant, application = submitted_platform_application(system, district="210213")
    url = f"/api/v1/intake/applications/{application['id']}"
    officer = system.client_for("district_officer", district_code="210213")
    assert officer.post(f"{url}/review", json={"decision": "return", "reason": "补充发票照片"}).status_code == 200
    assert client.post(f"{url}/documents", params={"kind": "invoice", "filename": "发票照片.png"},
                       content=png_bytes()).status_code == 201
    response = officer.get(f"{url}/package")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "filename*=utf-8''" in response.headers["content-disposition"].lower()
    pdf = PdfReader(io.BytesIO(response.content))
    total = len(pdf.pages)
    front = pdf.pages[0].extract_text()
    assert applicant["name"] in front and applicant["uscc"] in front and "平台建设" in front
    # the index names every exhibit (the required materials first, in the edition's order) and where it starts
    index = [line for line in front.splitlines() if line.startswith("附件") and "第" in line and "页" in line]
    assert len(index) == len(PLATFORM_MATERIALS) + 1
    assert "营业执照" in index[0] and "发票照片.png" in index[-1]
    starts = [int(line.rsplit("第", 1)[1].split("页")[0]) for line in index]
    assert starts == sorted(starts) and starts[-1] == total  # each PDF exhibit one page, the image one page
    for number, page in enumerate(pdf.pages, 1):
        assert page.extract_text().rstrip().endswith(f"{number} / {total}")
    assert "business_licence" in pdf.pages[starts[0] - 1].extract_text()  # the exhibit's own page, merged
    assert system.client_for("district_officer", district_code="210202").get(f"{url}/package").status_code == 404
    assert system.client_for("finance_officer").get(f"{url}/package").status_code == 200


def test_an_unreadable_exhibit_is_a_page_saying_so(system):
    client, _, application = submitted_platform_application(
        system, district="210214")
    url = f"/api/v1/intake/applications/{application['id']}"
    officer = system.client_for("district_officer", district_code="210214")
    assert officer.post(f"{url}/review", json={"decision": "return", "reason": "合同不清"}).status_code == 200
    broken = pdf_bytes("x")[:40]  # a PDF's first bytes and nothing more
    assert client.post(f"{url}/documents", params={"kind": "contract", "filename": "合同.pdf"},
                       content=broken).status_code == 201
    pdf = PdfReader(io.BytesIO(client.get(f"{url}/package").content))
    last = pdf.pages[-1].extract_text()
    assert "合同.pdf" in last and "未能并入" in last
