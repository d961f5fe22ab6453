"""Evidence uploads: streamed (a 200 MB file grows no process by 64 MB), limited, and all-or-nothing."""
from __future__ import annotations

import hashlib
import socket
import time
import zlib

import pytest

from bench.harness import PeakRss

from ..factories import pdf_bytes
from ..test_slice import register

MiB = 1024 * 1024


def big_pdf(total: int, chunk: int = MiB):
    """A PDF-headed body generated piece by piece."""
    head = pdf_bytes("big")
    yield head
    sent = len(head)
    filler = b"%" + b"x" * (chunk - 2) + b"\n"
    while sent < total:
        part = filler[: min(chunk, total - sent)]
        sent += len(part)
        yield part


def digest(total: int) -> str:
    h = hashlib.sha256()
    for part in big_pdf(total):
        h.update(part)
    return h.hexdigest()


def stored_objects(system) -> int:
    """How many document objects the store holds (local folder or S3 bucket)."""
    intake = system.processes["intake"]
    if system.s3 is None:
        root = system.workdir / "intake" / "documents"
        return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0
    from minio import Minio
    client = Minio(system.s3.endpoint, access_key="testing", secret_key="testing", secure=False)
    return sum(1 for _ in client.list_objects(intake.env["INTAKE_S3_BUCKET"], recursive=True))


def new_draft(system):
    client, applicant = register(system)
    app_id = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction"}).json()["id"]
    return client, app_id


@pytest.mark.slow
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_200_mb_upload_streams_through_gateway_and_intake(system, record_property, framing):
    client, app_id = new_draft(system)
    total = 200 * MiB
    intake_pid, gateway_pid = system.processes["intake"].proc.pid, system.processes["gateway"].proc.pid
    headers = {"Content-Length": str(total)} if framing == "content-length" else {}  # else httpx sends it chunked
    with PeakRss(intake_pid, gateway_pid) as memory:
        response = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                               params={"kind": "special_audit_report", "filename": "审计报告.pdf"},
                               content=big_pdf(total), headers=headers, timeout=300)
    grown = memory.growth(intake_pid), memory.growth(gateway_pid)
    record_property("intake_peak_rss_growth_mib", round(grown[0] / MiB, 1))
    record_property("gateway_peak_rss_growth_mib", round(grown[1] / MiB, 1))
    print(f"\n[{system.backend}, {framing}] 200 MiB upload, peak RSS growth: intake {grown[0] / MiB:.1f} MiB, "
          f"gateway {grown[1] / MiB:.1f} MiB")
    assert response.status_code == 201, response.text
    assert response.json()["size"] == total and response.json()["sha256"] == digest(total)
    assert grown[0] < 64 * MiB, f"intake grew by {grown[0] / MiB:.1f} MiB"
    assert grown[1] < 64 * MiB, f"gateway grew by {grown[1] / MiB:.1f} MiB"
    streamed = hashlib.sha256()
    with PeakRss(intake_pid) as memory, client.stream(
            "GET", f"/api/v1/intake/applications/{app_id}/documents/{response.json()['id']}/content",
            timeout=300) as download:
        assert download.headers["content-length"] == str(total)
        assert "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%8A%A5%E5%91%8A.pdf" in download.headers["content-disposition"]
        for part in download.iter_bytes():
            streamed.update(part)
    assert streamed.hexdigest() == digest(total)
    assert memory.growth(intake_pid) < 64 * MiB, f"the download grew intake by {memory.growth(intake_pid) / MiB:.1f}"


def test_an_upload_cut_off_midway_leaves_neither_object_nor_row(system):
    client, app_id = new_draft(system)
    objects_before = stored_objects(system)
    token = client.headers["Authorization"]
    with socket.create_connection(("127.0.0.1", system.processes["gateway"].port), timeout=10) as sock:
        sock.sendall((f"POST /api/v1/intake/applications/{app_id}/documents?kind=invoice&filename=cut.pdf HTTP/1.1\r\n"
                      f"Host: test\r\nAuthorization: {token}\r\nContent-Length: {20 * MiB}\r\n\r\n").encode())
        sock.sendall(pdf_bytes("cut") + b"x" * (3 * MiB))
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while stored_objects(system) != objects_before:
        assert time.monotonic() < deadline, "a partial object was left behind"
        time.sleep(0.2)
    assert client.get(f"/api/v1/intake/applications/{app_id}/documents").json() == []


@pytest.mark.slow
def test_the_upload_limit_is_a_413_and_keeps_nothing(system):
    client, app_id = new_draft(system)
    objects_before = stored_objects(system)
    total = 211 * MiB
    response = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                           params={"kind": "invoice", "filename": "huge.pdf"}, content=big_pdf(total), timeout=300)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert stored_objects(system) == objects_before
    assert client.get(f"/api/v1/intake/applications/{app_id}/documents").json() == []


def test_changes_are_audited_in_a_chain_that_verifies(system):
    client, app_id = new_draft(system)
    city = system.client_for("city_officer")
    events = city.get("/api/v1/intake/audit-events", params={"resource_type": "application",
                                                            "resource_id": app_id}).json()["items"]
    assert [e["action"] for e in events] == ["create"]
    assert events[0]["role"] == "applicant" and events[0]["after"]["status"] == "draft"
    applicants = city.get("/api/v1/intake/audit-events", params={"resource_type": "applicant"}).json()["items"]
    assert all(e["after"]["bank_account_number"] == "***" for e in applicants if e["action"] == "create")
    assert city.get("/api/v1/intake/audit-events/verify").json()["valid"] is True


def bomb_pdf() -> bytes:
    """A small PDF whose one Flate stream inflates to 1 GiB of zeros."""
    compressor = zlib.compressobj(9)
    block = bytes(16 * MiB)
    packed = b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()
    head = b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
    return (head + packed
            + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def test_hostile_uploads_are_refused_and_nothing_is_stored(system):
    client, app_id = new_draft(system)
    objects_before = stored_objects(system)
    url = f"/api/v1/intake/applications/{app_id}/documents"
    bomb = client.post(url, params={"kind": "invoice", "filename": "bomb.pdf"}, content=bomb_pdf())
    assert bomb.status_code == 422 and "decompression bomb" in bomb.json()["detail"]
    control = client.post(url, params={"kind": "invoice", "filename": "in\x07voice.pdf"}, content=pdf_bytes())
    assert control.status_code == 422
    zipped = client.post(url, params={"kind": "invoice", "filename": "x.pdf"}, content=b"PK\x03\x04" + bytes(100))
    assert zipped.status_code == 415
    assert stored_objects(system) == objects_before
    assert client.get(url).json() == []
    normal = zlib.compress(b"BT /F1 12 Tf (text) Tj ET" * 1000)
    fine = b"%PDF-1.4\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + normal + b"\nendstream\nendobj\n%%EOF\n"
    assert client.post(url, params={"kind": "invoice", "filename": "ok.pdf"}, content=fine).status_code == 201
