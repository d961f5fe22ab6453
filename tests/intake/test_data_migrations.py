"""Migrations that derive data from what was stored before them.

0008 digests the answers stored before it as the outbox digests those it stores (their JSON as stored), so that the
audit trail can name what an answer replaces by the digest kept beside it (tests/intake/test_reevaluations.py shows the
trail); 0009 counts the progress of the re-evaluations made before it from their messages."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from common.audit import text_digest
from common.db import json_text, make_engine, migrations_config
from services.intake import db

EVALUATION = {"id": "ev-1", "outcome": "eligible", "checks": [{"clause": "N3.2", "outcome": "pass", "名称": "失信"}]}
COMPUTATION = {"id": "co-1", "amount": "100000.00", "trace": [{"step": "cap", "result": "100000.00"}]}


NOW = datetime(2025, 12, 10, 2, 0, tzinfo=timezone.utc)


@contextmanager
def migrated_to(url: str, revision: str):
    """A connection to a database upgraded to `revision`, its tables reflected, a unit in it; yields (connection,
    tables, upgrade(revision)) in one transaction."""
    engine = make_engine(url)
    config = migrations_config(str(db.MIGRATIONS_DIR), db.VERSION_TABLE)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            tables = sa.MetaData()
            tables.reflect(connection)
            connection.execute(sa.insert(tables.tables["applicant"]).values(
                id="u1", uscc="91210202MA0000001X", name="大连测试", legal_representative="张三",
                district_code="210202", uscc_division_code="210202", registered_capital="1000000.00",
                contact_name="李四", contact_phone="0411-1", bank_account_name="大连测试", bank_name="中国银行",
                bank_account_number="6217000012345678901", created_at=NOW))
            yield connection, tables.tables, lambda target: command.upgrade(config, target)
    finally:
        engine.dispose()


APPLICATION = {"applicant_id": "u1", "edition": "2024", "project_type": "brand", "status": "submitted",
               "content": {}, "version": 1, "evaluation_status": "done", "evaluation_attempts": 1, "created_at": NOW,
               "updated_at": NOW}


def test_answers_stored_before_keep_their_digest(empty_database):
    with migrated_to(empty_database, "0007") as (connection, tables, upgrade):
        applications = tables["application"]
        row = APPLICATION
        connection.execute(sa.insert(applications), [
            {**row, "id": "answered", "evaluation": EVALUATION, "computation": COMPUTATION},
            {**row, "id": "json-null", "evaluation": None, "computation": None},  # what the ORM writes for None
        ])
        connection.execute(sa.insert(applications).values(  # and a SQL NULL, as a bulk load leaves it
            **row, id="sql-null", evaluation=sa.null(), computation=sa.null()))
        upgrade("0008")
        digests = {r.id: (r.evaluation_digest, r.computation_digest) for r in connection.execute(sa.text(
            "SELECT id, evaluation_digest, computation_digest FROM application"))}
    assert digests == {"answered": (text_digest(json_text(EVALUATION)), text_digest(json_text(COMPUTATION))),
                       "json-null": (None, None), "sql-null": (None, None)}


def test_re_evaluations_made_before_count_their_messages(empty_database):
    with migrated_to(empty_database, "0008") as (connection, tables, upgrade):
        connection.execute(sa.insert(tables["application"]), [{**APPLICATION, "id": f"a{i}"} for i in range(5)])
        connection.execute(sa.insert(tables["reevaluation"]), [
            {"id": name, "edition": "2024", "reason": "参数更正", "total": total, "requested_by": "city",
             "requested_at": NOW} for name, total in (("r1", 5), ("r2", 1))])
        # r1: two answered, one superseded by a resubmission, one waiting for another attempt, one not tried yet
        connection.execute(sa.insert(tables["outboxmessage"]), [
            {"id": f"m{i}", "application_id": f"a{i}", "reevaluation_id": "r1", "status": status,
             "attempts": attempts, "next_attempt_at": NOW, "created_at": NOW}
            for i, (status, attempts) in enumerate((("done", 1), ("done", 2), ("superseded", 0), ("pending", 3),
                                                    ("pending", 0)))] + [
            {"id": "m5", "application_id": "a0", "reevaluation_id": "r2", "status": "done", "attempts": 1,
             "next_attempt_at": NOW, "created_at": NOW}])
        upgrade("0009")
        counts = {r.id: (r.done, r.superseded) for r in connection.execute(sa.text(
            "SELECT id, done, superseded FROM reevaluation"))}
    assert counts == {"r1": (2, 1), "r2": (1, 0)}
