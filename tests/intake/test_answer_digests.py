"""Migration 0008 digests the answers stored before it as the outbox digests those it stores (their JSON as stored), so
that the audit trail can name what an answer replaces by the digest kept beside it (tests/intake/test_reevaluations.py
shows the trail)."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from common.audit import text_digest
from common.db import json_text, make_engine, migrations_config
from services.intake import db

EVALUATION = {"id": "ev-1", "outcome": "eligible", "checks": [{"clause": "N3.2", "outcome": "pass", "名称": "失信"}]}
COMPUTATION = {"id": "co-1", "amount": "100000.00", "trace": [{"step": "cap", "result": "100000.00"}]}


def test_answers_stored_before_keep_their_digest(empty_database):
    engine = make_engine(empty_database)
    config = migrations_config(str(db.MIGRATIONS_DIR), db.VERSION_TABLE)
    now = datetime(2025, 12, 10, 2, 0, tzinfo=timezone.utc)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
            tables = sa.MetaData()
            applicants, applications = (sa.Table(name, tables, autoload_with=connection)
                                        for name in ("applicant", "application"))
            connection.execute(sa.insert(applicants).values(
                id="u1", uscc="91210202MA0000001X", name="大连测试", legal_representative="张三",
                district_code="210202", uscc_division_code="210202", registered_capital="1000000.00",
                contact_name="李四", contact_phone="0411-1", bank_account_name="大连测试", bank_name="中国银行",
                bank_account_number="6217000012345678901", created_at=now))
            row = {"applicant_id": "u1", "edition": "2024", "project_type": "brand", "status": "submitted",
                   "content": {}, "version": 1, "evaluation_status": "done", "evaluation_attempts": 1,
                   "created_at": now, "updated_at": now}
            connection.execute(sa.insert(applications), [
                {**row, "id": "answered", "evaluation": EVALUATION, "computation": COMPUTATION},
                {**row, "id": "json-null", "evaluation": None, "computation": None},  # what the ORM writes for None
            ])
            connection.execute(sa.insert(applications).values(  # and a SQL NULL, as a bulk load leaves it
                **row, id="sql-null", evaluation=sa.null(), computation=sa.null()))
            command.upgrade(config, "0008")
            digests = {r.id: (r.evaluation_digest, r.computation_digest) for r in connection.execute(sa.text(
                "SELECT id, evaluation_digest, computation_digest FROM application"))}
        assert digests == {"answered": (text_digest(json_text(EVALUATION)), text_digest(json_text(COMPUTATION))),
                           "json-null": (None, None), "sql-null": (None, None)}
    finally:
        engine.dispose()
