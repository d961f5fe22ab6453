"""Plan: an allocation plan with unit caps and budget scaling for 1k / 10k / 100k audited projects.

Measured as users feel it (POST /api/v1/disbursement/plans through the gateway; disbursement calls calculation over
HTTP for the caps and the scaling), and the pure algorithm in-process.
"""
from __future__ import annotations

import random
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

from .harness import PeakRss, PgDatabases, Server, token

SIZES = (1_000, 10_000, 100_000)
TARGET_S = 2.0  # issue 7: 100,000 projects in < 2 s
NOTICE_STARTS = "2025-12-10T10:00:00+08:00"  # a working day of the 2024 edition's review
NOTICE_PASSED = "2026-01-20T10:00:00+08:00"  # well after its five working days
MiB = 1024 * 1024
TYPES = ("platform_construction", "platform_operation", "certification", "brand", "tcm_construction")
DISTRICTS = ("210202", "210203", "210204", "210211", "210212", "210213")


def projects(count: int, seed: int = 11) -> list[tuple[str, str, str, Decimal]]:
    """(id, uscc, project_type, audited amount): most units with one project, some with three (their caps bind)."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        unit = index - index % 3 if index % 10 < 3 else index  # 30 % of projects share a unit with two others
        out.append((str(uuid.UUID(int=rng.getrandbits(128))), f"91210202{unit:09d}X", rng.choice(TYPES),
                    Decimal(rng.randrange(5_000_000, 30_000_000)) / 100))
    return out


def seed(dsn: str, rows: list[tuple[str, str, str, Decimal]]) -> None:
    """Benchmark fixture: audited projects written straight into disbursement's migrated tables (COPY)."""
    now = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE planitem, plan, project CASCADE")
        with cur.copy("COPY project (id, application_id, edition, uscc, unit_name, district_code, project_type, "
                      "computed_amount, eligibility_outcome, status, bank_account_name, bank_name, "
                      "bank_account_number, audit_opinion, audited_amount, audited_by, audited_at, created_at) "
                      "FROM STDIN") as copy:
            for index, (project_id, uscc, project_type, amount) in enumerate(rows):
                copy.write_row((project_id, f"app-{project_id}", "2024", uscc, f"大连基准{uscc[-9:]}科技有限公司",
                                DISTRICTS[index % len(DISTRICTS)], project_type, amount, "eligible", "active",
                                "大连基准科技有限公司", "中国银行大连分行", "6217000012345678901", "pass", amount,
                                "auditor-1", now, now))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE project")


def algorithm(count: int) -> tuple[float, float]:
    """(seconds, peak traced MiB) of calculation's allocation (unit caps, then scaling) over columns, in-process."""
    from services.calculation.allocation import allocate
    from services.calculation.schemas import AllocationIn

    rows = projects(count)
    data = AllocationIn.model_validate({
        "edition": "2024", "budget": f"{sum(a for *_, a in rows) * Decimal('0.6'):.2f}",
        "keys": [r[0] for r in rows], "usccs": [r[1] for r in rows], "project_types": [r[2] for r in rows],
        "amounts": [f"{r[3]:.2f}" for r in rows]})
    started = time.perf_counter()
    allocate(data)
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second pass for the memory: tracing slows every allocation several times
    allocate(data)
    peak = tracemalloc.get_traced_memory()[1] / MiB
    tracemalloc.stop()
    return elapsed, peak


def lifecycle(client: httpx.Client, disbursement_url: str, secret: str, plan_id: str, count: int) -> str:
    """The largest version published for its notice, the notice let pass, then made final (N4.3, N4.4): timed."""
    started = time.perf_counter()
    published = client.post(f"/api/v1/disbursement/plans/{plan_id}/publish")
    publish_s = time.perf_counter() - started
    if published.status_code != 200:
        raise RuntimeError(f"publishing the plan of {count} failed: {published.status_code} {published.text[:500]}")
    moved = httpx.put(f"{disbursement_url}/dev/clock", json={"now": NOTICE_PASSED}, timeout=30,
                      headers={"Authorization": f"Bearer {token(secret, 'admin')}"})
    if moved.status_code != 200:
        raise RuntimeError(f"moving the programme's clock failed: {moved.status_code} {moved.text[:500]}")
    started = time.perf_counter()
    final = client.post(f"/api/v1/disbursement/plans/{plan_id}/finalise")
    finalise_s = time.perf_counter() - started
    if final.status_code != 200:
        raise RuntimeError(f"finalising the plan of {count} failed: {final.status_code} {final.text[:500]}")
    return f"  {count:>8,} projects: publish {publish_s:.2f}s, finalise {finalise_s:.2f}s (the full version above)"


def run() -> list[str]:
    """Build a plan for each size through the system, then time the pure algorithm; return the report lines."""
    secret = uuid.uuid4().hex * 2
    lines = [f"plan: POST /api/v1/disbursement/plans through the gateway (disbursement → calculation over HTTP, one "
             f"call for the unit caps and the scaling), PostgreSQL; target {SIZES[-1]:,} projects < {TARGET_S:g} s, "
             f"memory linear; `Prefer: return=minimal` answers the version without its lines, the full answer holds "
             f"them all",
             f"  {'projects':>8} {'minimal':>9} {'ratio':>6} {'RSS growth: disbursement':>25} {'calculation':>12}"
             f" {'gateway':>8}   {'full answer':>11} {'size':>8}"]
    with tempfile.TemporaryDirectory() as tmp, PgDatabases("disbursement", "calculation") as pg:
        common = {"JWT_SECRET": secret, "LOG_LEVEL": "warning"}
        calculation = Server("services.calculation.app:create_app", {
            **{f"CALCULATION_{k}": v for k, v in common.items()}, "CALCULATION_DATA_DIR": str(Path(tmp) / "calc"),
            "CALCULATION_DATABASE_URL": pg.url("calculation")}, log=Path(tmp) / "calculation.log").wait()
        disbursement = Server("services.disbursement.app:create_app", {
            **{f"DISBURSEMENT_{k}": v for k, v in common.items()}, "DISBURSEMENT_DATA_DIR": str(Path(tmp) / "disb"),
            "DISBURSEMENT_DATABASE_URL": pg.url("disbursement"), "DISBURSEMENT_CALCULATION_URL": calculation.url,
            # the programme's clock, fixed (as `make run` does) so that the notice can be let pass for the final plan
            "DISBURSEMENT_FIXED_NOW": NOTICE_STARTS},
            log=Path(tmp) / "disbursement.log").wait()
        gateway = Server("gateway.app:create_app", {
            **{f"GATEWAY_{k}": v for k, v in common.items()}, "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"),
            "GATEWAY_DISBURSEMENT_URL": disbursement.url, "GATEWAY_CALCULATION_URL": calculation.url},
            log=Path(tmp) / "gateway.log").wait()
        client = httpx.Client(base_url=gateway.url, timeout=300,
                              headers={"Authorization": f"Bearer {token(secret, 'city_officer')}"})
        try:
            for count in SIZES:
                rows = projects(count)
                seed(pg.dsn("disbursement"), rows)
                budget = sum(a for *_, a in rows) * Decimal("0.6")  # the fund binds: every amount is scaled
                pids = (disbursement.proc.pid, calculation.proc.pid, gateway.proc.pid)
                with PeakRss(*pids) as memory:
                    started = time.perf_counter()
                    answer = client.post("/api/v1/disbursement/plans", json={"edition": "2024",
                                                                            "budget": f"{budget:.2f}"},
                                         headers={"Prefer": "return=minimal"})
                    elapsed = time.perf_counter() - started
                if answer.status_code != 201 or answer.json()["item_count"] != count:
                    raise RuntimeError(f"plan of {count} failed: {answer.status_code} {answer.text[:500]}")
                grown = [memory.growth(pid) / MiB for pid in pids]
                started = time.perf_counter()
                full = client.post("/api/v1/disbursement/plans", json={"edition": "2024", "budget": f"{budget:.2f}"})
                full_s = time.perf_counter() - started
                if full.status_code != 201 or len(full.json()["items"]) != count:
                    raise RuntimeError(f"plan of {count} failed: {full.status_code} {full.text[:500]}")
                verdict = ("ok" if elapsed < TARGET_S else "BELOW") if count == SIZES[-1] else ""
                lines.append(f"  {count:>8,} {elapsed:>8.2f}s {elapsed / TARGET_S:>6.2f} {grown[0]:>23.0f}MB "
                             f"{grown[1]:>10.0f}MB {grown[2]:>6.0f}MB   {full_s:>10.2f}s "
                             f"{len(full.content) / MiB:>6.1f}MB  {verdict}")
            lines.append(lifecycle(client, disbursement.url, secret, full.json()["id"], SIZES[-1]))
        finally:
            client.close()
            gateway.stop()
            disbursement.stop()
            calculation.stop()
    lines.append(f"  calculation's allocation in-process: {'projects':>8} {'time':>7} {'peak traced':>12}")
    for count in SIZES:
        seconds, peak = algorithm(count)
        lines.append(f"  {'':37}{count:>8,} {seconds * 1000:>5.0f}ms {peak:>10.0f}MB")
    return lines
