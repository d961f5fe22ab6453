"""Upload: a 200 MB PDF through gateway → intake → S3 server (moto), against a direct put_object of the same bytes."""
from __future__ import annotations

import hashlib
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from minio import Minio

from .harness import MotoS3, PeakRss, PgDatabases, Server, median, token

MiB = 1024 * 1024
TOTAL = 200 * MiB
PART = 5 * MiB  # intake's part size (services/intake/storage.py S3_PART_SIZE): the same for the direct put
TARGET_RATIO = 0.70  # issue 7: gateway → intake → S3 at ≥ 70 % of a direct put
RSS_LIMIT = 64 * MiB
ROUNDS = 3
HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
FILLER = b"%" + b"x" * (MiB - 2) + b"\n"  # PDF comment lines: a valid, incompressible-enough body of any length


def body_chunks(total: int = TOTAL):
    """The document as the client sends it, 1 MiB at a time (never whole in memory)."""
    yield HEAD
    sent = len(HEAD)
    while sent < total:
        part = FILLER[: min(MiB, total - sent)]
        sent += len(part)
        yield part


class BodyReader:
    """The same bytes as a file whose reads are filled to the size asked (the minio SDK builds parts from reads)."""

    def __init__(self, total: int = TOTAL) -> None:
        self._chunks, self._rest = body_chunks(total), b""

    def read(self, size: int = -1) -> bytes:
        parts, have = [self._rest], len(self._rest)
        while size < 0 or have < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self._rest = data[size:] if 0 <= size < len(data) else b""
        return data[:size] if size >= 0 else data


def run() -> list[str]:
    """Direct put vs upload through the system, alternating; return the report lines."""
    secret = uuid.uuid4().hex * 2
    bucket = f"docs-{uuid.uuid4().hex[:8]}"
    lines = [f"upload: {TOTAL // MiB} MiB PDF, gateway → intake → moto S3 vs direct minio put_object "
             f"(part {PART // MiB} MiB), {ROUNDS} alternating rounds; target ratio ≥ {TARGET_RATIO:.2f}, "
             f"RSS growth < {RSS_LIMIT // MiB} MiB"]
    s3 = MotoS3()
    with tempfile.TemporaryDirectory() as tmp, PgDatabases("intake") as pg:
        common = {"JWT_SECRET": secret, "LOG_LEVEL": "warning"}
        intake = Server("services.intake.app:create_app", {
            **{f"INTAKE_{k}": v for k, v in common.items()}, "INTAKE_DATA_DIR": str(Path(tmp) / "intake"),
            "INTAKE_DATABASE_URL": pg.url("intake"), "INTAKE_S3_ENDPOINT": s3.endpoint, "INTAKE_S3_BUCKET": bucket,
            "INTAKE_S3_ACCESS_KEY": "bench", "INTAKE_S3_SECRET_KEY": "bench-secret",
            # the limit is the programme's (50 MB by default): this document is larger on purpose
            "INTAKE_MAX_UPLOAD_BYTES": str(TOTAL + MiB)}, log=Path(tmp) / "intake.log").wait()
        gateway = Server("gateway.app:create_app", {
            **{f"GATEWAY_{k}": v for k, v in common.items()}, "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"),
            "GATEWAY_INTAKE_URL": intake.url}, log=Path(tmp) / "gateway.log").wait()
        direct_client = Minio(s3.endpoint, access_key="bench", secret_key="bench-secret", secure=False)
        try:
            unit = _uscc()
            client = httpx.Client(base_url=gateway.url, timeout=300, headers={
                "Authorization": f"Bearer {token(secret, 'applicant', f'user-{unit}', unit_uscc=unit)}"})
            app_id = _draft(client, unit)
            expected = hashlib.sha256(b"".join(body_chunks())).hexdigest()
            direct, through, grown = [], [], []
            for round_no in range(ROUNDS):
                key = f"direct/{round_no}"
                started = time.perf_counter()
                direct_client.put_object(bucket, key, BodyReader(), length=TOTAL, part_size=PART,
                                         content_type="application/pdf", num_parallel_uploads=1)
                direct.append(TOTAL / MiB / (time.perf_counter() - started))
                direct_client.remove_object(bucket, key)
                with PeakRss(intake.proc.pid, gateway.proc.pid) as memory:
                    started = time.perf_counter()
                    answer = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                                         params={"kind": "special_audit_report", "filename": "审计报告.pdf"},
                                         content=body_chunks(), headers={"Content-Length": str(TOTAL)})
                    elapsed = time.perf_counter() - started
                if answer.status_code != 201 or answer.json()["sha256"] != expected:
                    raise RuntimeError(f"upload failed: {answer.status_code} {answer.text[:300]}")
                through.append(TOTAL / MiB / elapsed)
                grown.append((memory.growth(intake.proc.pid), memory.growth(gateway.proc.pid)))
                client.delete(f"/api/v1/intake/applications/{app_id}/documents/{answer.json()['id']}")
            client.close()
        finally:
            gateway.stop()
            intake.stop()
            s3.stop()
    ratio = median(through) / median(direct)  # medians: the store's speed swings between rounds on a shared machine
    worst_intake, worst_gateway = max(g[0] for g in grown), max(g[1] for g in grown)
    ok = ratio >= TARGET_RATIO and max(worst_intake, worst_gateway) < RSS_LIMIT
    lines += [f"  direct put_object   {_range(direct)} MiB/s (median {median(direct):.0f})",
              f"  through the system  {_range(through)} MiB/s (median {median(through):.0f})",
              f"  ratio of medians    {ratio:.2f} (target {TARGET_RATIO:.2f})",
              f"  peak RSS growth     intake {worst_intake / MiB:.1f} MiB, gateway {worst_gateway / MiB:.1f} MiB "
              f"(limit {RSS_LIMIT // MiB} MiB)  {'ok' if ok else 'BELOW'}"]
    return lines


def _range(values: list[float], fmt: str = ".0f") -> str:
    return f"{min(values):{fmt}}–{max(values):{fmt}}"


def _uscc() -> str:
    from stdnum.cn import uscc

    body = "91210202" + "".join(random.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _draft(client: httpx.Client, unit: str) -> str:
    """A registered unit's draft application, made through the API as its applicant would."""
    registered = client.post("/api/v1/intake/applicants", json={
        "uscc": unit, "name": "大连基准科技有限公司", "legal_representative": "张三", "district_code": "210202",
        "registered_capital": "5000000.00", "contact_name": "李四", "contact_phone": "0411-83686326",
        "bank_account_name": "大连基准科技有限公司", "bank_name": "中国银行大连分行",
        "bank_account_number": "6217000012345678901"})
    registered.raise_for_status()
    created = client.post("/api/v1/intake/applications", json={"applicant_id": registered.json()["id"],
                                                               "project_type": "platform_construction"})
    created.raise_for_status()
    return created.json()["id"]
