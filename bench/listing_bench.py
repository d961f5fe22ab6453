"""Listing: GET /api/v1/intake/applications with typical filters over 100,000 applications in PostgreSQL."""
from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from .harness import PgDatabases, Server, token, wrk

ROWS = 100_000
UNITS = 20_000
TARGET_P50_MS = 50.0
DISTRICTS = ("210202", "210203", "210204", "210211", "210212", "210213", "210214", "210224", "210281", "210283",
             "210231", "210242", "210244")
TYPES = ("platform_construction", "platform_operation", "certification", "brand", "interest_subsidy",
         "tcm_construction", "tcm_operation")
STATUSES = (("draft", 25), ("submitted", 30), ("returned", 5), ("district_passed", 30), ("rejected", 10))
EDITIONS = (("2023", 30), ("2024", 70))
# (label, role claims, query): what district offices and the city ask for most
QUERIES = (
    ("city: edition + status", {}, "edition=2024&status=submitted&limit=50"),
    ("city: edition + status + type", {}, "edition=2024&status=district_passed&project_type=platform_construction"
                                          "&limit=50"),
    ("city: district + edition", {}, "district_code=210211&edition=2024&limit=50"),
    ("city: edition + status, page 21", {}, "edition=2024&status=submitted&limit=50&offset=1000"),
    ("city: everything, newest first", {}, "limit=50"),
    ("district officer: own, status", {"district_code": "210211"}, "status=submitted&edition=2024&limit=50"),
)


def content(rng: random.Random) -> dict:
    """Forms of a platform project as an applicant fills them: a commitment, the platform, a few expense lines."""
    pledges = {k: True for k in ("lawful_registration", "complete_materials", "authentic_materials",
                                 "copies_match_originals", "credit_clean", "no_other_fiscal_support",
                                 "accept_verification")}
    return {"f1_commitment": {"pledges": pledges, "signatory": "张三", "signed_on": "2025-12-01"},
            "f2_platform": {"platform_name": f"大连服务外包公共服务平台{rng.randrange(10**9)}", "completed_on": "2024-03-15",
                            "main_services": "检验检测", "served_firm_count": 5},
            "f3_expenses": [{"line_no": i, "content": "服务器 采购", "expense_kind": "server", "contract_amount": "60000.00",
                             "invoice_amount": "60000.00", "paid_amount": "60000.00",
                             "invoice_number": f"0440{rng.randrange(10**8):08d}", "invoice_date": "2024-03-01",
                             "exhibit_page": str(10 + i)} for i in range(1, 4)]}


def copy_units(cur, units: list[tuple[str, str, str]], registered_at: datetime) -> None:
    """Benchmark fixture: units (id, USCC, district) written into intake's applicant table (COPY)."""
    with cur.copy("COPY applicant (id, uscc, name, legal_representative, district_code, uscc_division_code, "
                  "registered_capital, contact_name, contact_phone, bank_account_name, bank_name, "
                  "bank_account_number, created_at) FROM STDIN") as copy:
        for unit_id, uscc, district in units:
            copy.write_row((unit_id, uscc, f"大连基准{uscc[-6:]}科技有限公司", "张三", district, district, "5000000.00",
                            "李四", "0411-83686326", "大连基准科技有限公司", "中国银行大连分行", "6217000012345678901",
                            registered_at))


def seed(dsn: str, rows: int = ROWS) -> float:
    """Benchmark fixture: units and applications written straight into intake's migrated tables (COPY)."""
    rng = random.Random(7)
    started = time.perf_counter()
    now = datetime(2025, 12, 10, 2, 0, tzinfo=timezone.utc)
    statuses = [s for s, weight in STATUSES for _ in range(weight)]
    editions = [e for e, weight in EDITIONS for _ in range(weight)]
    units = [(str(uuid.UUID(int=rng.getrandbits(128))), f"91{DISTRICTS[i % len(DISTRICTS)]}{i:09d}X",
              DISTRICTS[i % len(DISTRICTS)]) for i in range(UNITS)]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        copy_units(cur, units, now - timedelta(days=400))
        with cur.copy("COPY application (id, applicant_id, edition, project_type, status, content, version, "
                      "submitted_at, evaluation_status, evaluation_attempts, created_at, updated_at) FROM STDIN"
                      ) as copy:
            for i in range(rows):
                status = rng.choice(statuses)
                created = now - timedelta(seconds=rng.randrange(365 * 86400))
                submitted = None if status == "draft" else created + timedelta(days=3)
                copy.write_row((str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(units)[0], rng.choice(editions),
                                rng.choice(TYPES), status, json.dumps(content(rng), ensure_ascii=False), 1, submitted,
                                "not_requested" if status == "draft" else "done", 0, created, created))
    with psycopg.connect(dsn, autocommit=True) as conn:  # what autovacuum does to a live table, done now
        conn.execute("VACUUM ANALYZE applicant")
        conn.execute("VACUUM ANALYZE application")
    return time.perf_counter() - started


def explain(url: str, label: str, claims: dict, query: str) -> list[str]:
    """EXPLAIN ANALYZE of the statements the service runs for one listing (captured from its own code)."""
    from urllib.parse import parse_qsl

    from sqlalchemy import event
    from sqlmodel import Session

    from common.auth import Principal
    from common.db import make_engine
    from services.intake import service

    engine = make_engine(url)
    statements: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, params, _ctx, _many: statements.append((statement, params)))
    args = dict(parse_qsl(query))
    role = "district_officer" if claims else "city_officer"
    with Session(engine) as session:
        service.list_applications(session, Principal(subject="bench", role=role, **claims),
                                  status=args.get("status"), project_type=args.get("project_type"),
                                  district_code=args.get("district_code"), edition=args.get("edition"),
                                  limit=int(args.get("limit", 50)), offset=int(args.get("offset", 0)))
    lines = [f"  EXPLAIN ANALYZE, {label} ({query}):"]
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for statement, params in statements:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + statement, params)
                lines += ["    " + row[0] for row in cur.fetchall()]
    engine.dispose()
    return lines


def run(seconds: int = 2) -> list[str]:
    """Seed, then measure each typical listing through the gateway at one connection; return the report lines."""
    secret = uuid.uuid4().hex * 2
    lines = [f"listing: GET /api/v1/intake/applications over {ROWS:,} applications ({UNITS:,} units) in PostgreSQL, "
             f"through the gateway, 1 connection, {seconds}s each; target p50 < {TARGET_P50_MS:g} ms"]
    with tempfile.TemporaryDirectory() as tmp, PgDatabases("intake") as pg:
        common = {"JWT_SECRET": secret, "LOG_LEVEL": "warning"}
        intake = Server("services.intake.app:create_app", {
            **{f"INTAKE_{k}": v for k, v in common.items()}, "INTAKE_DATA_DIR": str(Path(tmp) / "intake"),
            "INTAKE_DATABASE_URL": pg.url("intake")}, log=Path(tmp) / "intake.log").wait()
        gateway = Server("gateway.app:create_app", {
            **{f"GATEWAY_{k}": v for k, v in common.items()}, "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"),
            "GATEWAY_INTAKE_URL": intake.url, "GATEWAY_RATE_LIMIT_PER_S": "1000000",
            "GATEWAY_RATE_LIMIT_BURST": "1000000"}, log=Path(tmp) / "gateway.log").wait()
        try:
            lines.append(f"  seeded in {seed(pg.dsn('intake')):.1f} s (benchmark fixture: COPY into the migrated "
                         "tables)")
            lines.append(f"  {'query':<34} {'p50':>8} {'p99':>8} {'req/s':>7} {'ratio to target':>16}")
            for label, claims, query in QUERIES:
                role = "district_officer" if claims else "city_officer"
                auth = {"Authorization": f"Bearer {token(secret, role, **claims)}"}
                url = f"{gateway.url}/api/v1/intake/applications?{query}"
                wrk(url, connections=1, seconds=1, headers=auth)  # warm the caches and the plan
                load = wrk(url, connections=1, seconds=seconds, headers=auth)
                verdict = "ok" if load.p50_ms < TARGET_P50_MS else "BELOW"
                lines.append(f"  {label:<34} {load.p50_ms:6.1f}ms {load.p99_ms:6.1f}ms {load.rps:7.0f}"
                             f" {load.p50_ms / TARGET_P50_MS:15.2f}  {verdict}")
            lines += explain(pg.url("intake"), *QUERIES[0])
        finally:
            gateway.stop()
            intake.stop()
    return lines
