"""The paper package (纸质申报材料) of an application as one PDF: its forms and an index, then every exhibit, numbered.

The notice asks for the materials in two paper copies plus a PDF (N3.5), the exhibits numbered so that the forms can
cite them (附件编号, F3/F4). The forms part is written here directly as PDF text pages in the Adobe-GB1 font every
PDF reader provides (STSong-Light, not embedded), with a ToUnicode map so that its text can be searched and copied;
PDF exhibits are merged page by page (pypdf) and images become a page of their own (Pillow). The whole package is
built in a temporary folder and streamed from there: nothing of it is held whole in memory beyond one exhibit.
"""
from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from PIL import Image
from pydantic import BaseModel
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from common.clock import CHINA_TZ
from common.money import format_money
from common.problems import Unprocessable

from .forms import PROJECT_TYPE_LABELS, ApplicationContentRead

A4 = (595.28, 841.89)
MARGIN = 56.0
FONT_SIZE = 10.5
LEADING = 17.0
MAX_EXHIBIT_BYTES = 100 * 1024 * 1024  # beyond this the package is refused: download the documents one by one
MAX_IMAGE_PIXELS = 30_000_000  # an image exhibit larger than this is not decoded (a bomb, or far beyond print)
IMAGE_FIT = (2480, 3508)  # A4 at 300 dpi
KIND_LABELS = {
    "business_licence": "营业执照", "application_report": "申请报告", "feasibility_study": "项目可行性研究报告",
    "commitment_letter": "承诺书（签章）", "special_audit_report": "专项审计报告", "contract": "合同或协议",
    "foreign_income_declaration": "涉外收入申报单及银行入账凭证", "certificate": "证书", "invoice": "发票",
    "award_certificate": "荣誉奖项证书", "mofcom_contract_table": "服务外包接包合同表", "legal_person_proof": "法人资格证明",
    "audited_financial_report": "财务审计报告", "platform_report": "平台建设或运维情况报告", "cost_detail_list": "费用明细表及凭证",
    "school_licence": "办学许可证", "faculty": "师资情况", "curriculum": "课程方案", "training_contract": "培训合同",
    "payment_proof": "支付凭证", "bank_slip": "银行凭证", "authorisation_letter": "授权书", "premises_proof": "场地设备人员证明",
    "other": "其他",
}


@dataclass
class Exhibit:
    """One evidence document to put in the package."""

    kind: str
    filename: str
    media_type: str
    size: int
    path: Path


# ---- the forms part: PDF text pages written directly --------------------------------------------------------------

def _ucs2(text: str) -> str:
    """Hex of the text in UCS-2 (the font's encoding); characters it cannot show become a question mark."""
    out = []
    for ch in text:
        code = ord(ch)
        out.append(f"{code:04X}" if code < 0xD800 or 0xE000 <= code <= 0xFFFF else "003F")
    return "".join(out)


def _em(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5


def _wrap(text: str, width_em: float) -> list[str]:
    """Lines of at most `width_em` ems (full-width characters count one, others a half)."""
    clean = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    lines, line, used = [], "", 0.0
    for ch in clean:
        if used + _em(ch) > width_em and line:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += _em(ch)
    lines.append(line)
    return lines


def _to_unicode_cmap() -> bytes:
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256) if not 0xD8 <= hi <= 0xDF]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start:start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def text_pdf(lines: list[tuple[str, str]]) -> bytes:
    """A4 pages of text; each line is (style, text) with style `title`, `heading` or `text`; long lines wrap."""
    sizes = {"title": 16.0, "heading": 12.5, "text": FONT_SIZE}
    usable_w, usable_h = A4[0] - 2 * MARGIN, A4[1] - 2 * MARGIN
    pages: list[list[tuple[float, float, str]]] = [[]]
    y = 0.0
    for style, text in lines:
        size = sizes[style]
        step = LEADING * size / FONT_SIZE
        gap = step * 0.6 if style != "text" else 0.0
        for piece in _wrap(text, usable_w / size):
            if y + gap + step > usable_h:
                pages.append([])
                y, gap = 0.0, 0.0
            y += gap + step
            gap = 0.0
            pages[-1].append((size, A4[1] - MARGIN - y, piece))
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    cmap = _to_unicode_cmap()
    to_unicode = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    descriptor = add(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
                     b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
    cid_font = add(b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry "
                   b"(Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor %d 0 R /DW 1000 /W [1 95 500] >>"
                   % descriptor)
    font = add(b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
               b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cid_font, to_unicode))
    pages_id = len(objects) + 1
    objects.append(b"")  # the page tree, written once its kids are known
    kids = []
    for page in pages:
        content = "".join(f"BT /F1 {size:g} Tf {MARGIN:g} {y:.2f} Td <{_ucs2(text)}> Tj ET\n"
                          for size, y, text in page).encode("ascii")
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /Font << /F1 %d 0 R "
                        b">> >> /Contents %d 0 R >>" % (pages_id, A4[0], A4[1], font, stream)))
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    return _serialise(objects, catalog)


def _serialise(objects: list[bytes], root: int) -> bytes:
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def page_numbers_pdf(sizes: list[tuple[float, float]]) -> bytes:
    """One page per size, each with its number centred at the foot: `n / N` (Helvetica, a standard font)."""
    objects: list[bytes] = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b""]
    kids = []
    for number, (width, height) in enumerate(sizes, 1):
        label = f"{number} / {len(sizes)}"
        x = width / 2 - len(label) * 2.5
        content = f"BT /F1 9 Tf {x:.2f} 20 Td ({label}) Tj ET".encode("ascii")
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        stream = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /Font << /F1 1 0 R >> >> "
                       b"/Contents %d 0 R >>" % (width, height, stream))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    return _serialise(objects, len(objects))


def _value(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return "" if value is None else str(value)


def _label(model: type[BaseModel], name: str) -> str:
    description = model.model_fields[name].description or name
    return description.split(" (")[0].split("：")[0]


def _model_lines(item: BaseModel, indent: str = "") -> list[tuple[str, str]]:
    lines = []
    for name in type(item).model_fields:
        value = getattr(item, name)
        if isinstance(value, BaseModel):
            lines.append(("text", f"{indent}{_label(type(item), name)}："))
            lines += _model_lines(value, indent + "    ")
        elif value not in (None, ""):
            lines.append(("text", f"{indent}{_label(type(item), name)}：{_value(value)}"))
    return lines


def forms_lines(content: ApplicationContentRead) -> list[tuple[str, str]]:
    """The forms as lines: each section under its heading (the 附件 label), each field with its Chinese label."""
    lines: list[tuple[str, str]] = []
    for name in ApplicationContentRead.model_fields:
        value = getattr(content, name)
        if value in (None, []):
            continue
        lines.append(("heading", ApplicationContentRead.model_fields[name].description or name))
        if isinstance(value, list):
            for item in value:
                fields = [f"{_label(type(item), f)}：{_value(getattr(item, f))}"
                          for f in type(item).model_fields if getattr(item, f) not in (None, "")]
                lines.append(("text", "；".join(fields)))
        else:
            lines += _model_lines(value)
    return lines


# ---- exhibits -----------------------------------------------------------------------------------------------------

def _image_pdf(path: Path) -> bytes:
    """An image exhibit as a one-page PDF, scaled to fit A4 at print resolution."""
    with Image.open(path) as image:
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ValueError(f"{image.width}×{image.height} pixels is more than an exhibit needs")
        image.draft("RGB", IMAGE_FIT)  # JPEG: decode at a reduced scale straight away
        image.load()
        image.thumbnail(IMAGE_FIT)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        dpi = max(72.0, image.width / (A4[0] / 72), image.height / (A4[1] / 72))
        buffer = io.BytesIO()
        image.save(buffer, "PDF", resolution=dpi)
        return buffer.getvalue()


def _exhibit_reader(exhibit: Exhibit) -> tuple[PdfReader | None, str]:
    """A reader of the exhibit's pages, or None and why it cannot be merged."""
    try:
        if exhibit.media_type == "application/pdf":
            reader = PdfReader(exhibit.path)
            if reader.is_encrypted and not reader.decrypt(""):
                return None, "文件已加密"
        else:
            reader = PdfReader(io.BytesIO(_image_pdf(exhibit.path)))
        if len(reader.pages) == 0:
            return None, "文件没有页面"
        return reader, ""
    except (PyPdfError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return None, f"文件无法读取（{exc.__class__.__name__}）"


def assemble(out: Path, header: list[tuple[str, str]], content: ApplicationContentRead,
             exhibits: list[Exhibit]) -> int:
    """Write the package to `out`: forms and index, then the exhibits, every page numbered; returns the page count."""
    readers: list[PdfReader] = []
    for exhibit in exhibits:
        reader, why = _exhibit_reader(exhibit)
        if reader is None:  # a page saying so keeps the numbering and the index true
            reader = PdfReader(io.BytesIO(text_pdf([
                ("heading", f"{KIND_LABELS.get(exhibit.kind, exhibit.kind)}：{exhibit.filename}"),
                ("text", f"此附件未能并入本汇编：{why}。请单独下载原文件。")])))
        readers.append(reader)

    def front(starts: list[int]) -> bytes:
        index = [("heading", "目录"), ("text", "申报表单 …… 第 1 页")] + [
            ("text", f"附件{n}  {KIND_LABELS.get(e.kind, e.kind)}：{e.filename} …… 第 {start} 页")
            for n, (e, start) in enumerate(zip(exhibits, starts), 1)]
        return text_pdf(header + index + forms_lines(content))

    # the index gives each exhibit's first page, which depends on the length of the front part itself
    front_pdf, front_pages = b"", 1
    for _ in range(4):  # settles at once unless a longer number wraps an index line onto another page
        starts, page = [], front_pages + 1
        for reader in readers:
            starts.append(page)
            page += len(reader.pages)
        front_pdf = front(starts)
        pages = len(PdfReader(io.BytesIO(front_pdf)).pages)
        if pages == front_pages:
            break
        front_pages = pages
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front_pdf)))
    for reader in readers:
        writer.append(reader)
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in writer.pages]
    stamps = PdfReader(io.BytesIO(page_numbers_pdf(sizes)))
    for target, stamp in zip(writer.pages, stamps.pages):
        target.merge_page(stamp)
    with out.open("wb") as handle:
        writer.write(handle)
    return len(sizes)


def check_size(exhibits_bytes: int) -> None:
    """Refuse a package whose exhibits are too large to assemble in one piece."""
    if exhibits_bytes > MAX_EXHIBIT_BYTES:
        raise Unprocessable(f"The documents add up to {exhibits_bytes} bytes, more than the {MAX_EXHIBIT_BYTES} a "
                            "package is assembled from; download them one by one.",
                            errors=[{"field": "documents", "message": "too large to assemble", "code": "too_large"}])


def header_lines(application, applicant, district_name: str, now: datetime) -> list[tuple[str, str]]:
    """The cover: what the package is, whose, which project, which version, when."""
    submitted = application.submitted_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") \
        if application.submitted_at else "未提交（草稿）"
    return [
        ("title", f"{application.edition}年度推动服务贸易创新发展项目申报材料"),
        ("text", f"申报单位：{applicant.name}"),
        ("text", f"统一社会信用代码：{applicant.uscc}"),
        ("text", f"注册地：{district_name}    法定代表人：{applicant.legal_representative}"),
        ("text", f"项目类型：{PROJECT_TYPE_LABELS[application.project_type]}"),
        ("text", f"申请编号：{application.id}    版本：{application.version}    提交时间：{submitted}"),
        ("text", f"汇编时间：{now.astimezone(CHINA_TZ).strftime('%Y-%m-%d %H:%M')}（北京时间）"),
    ]


def copy_to(source, target: Path) -> None:
    """Write a stored object's chunks to a local file."""
    with target.open("wb") as handle:
        for chunk in source:
            handle.write(chunk)

