"""A plan's lines refer to a plan and to projects that exist, and those cannot go while lines refer to them: foreign
keys on SQLite, statement triggers on PostgreSQL (migration 0009). The API never writes such a line, so the guarantee
is shown on the database the service runs on, with a plan and a project made through the API and statements that are
all rolled back (the project failed its audit, so it stays out of the other tests' plans)."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from common.db import make_engine

from .flow import D, audit, passed_application, take_over


def test_plan_lines_refer_to_a_plan_and_projects_that_exist(system):
    project = audit(system, take_over(system, [passed_application(system)])[0], opinion="fail")
    plan = system.client_for("city_officer").post(f"{D}/plans", json={"edition": "2024", "budget": "99999999.00"})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    later = system.client_for("city_officer").post(f"{D}/plans", json={"edition": "2024", "budget": "99999999.00"})
    assert later.status_code == 201, later.text
    engine = make_engine(system.database_url("disbursement"))  # SQLite's foreign keys are on, as in the service
    try:
        tables = sa.MetaData()
        items, projects, plans = (sa.Table(name, tables, autoload_with=engine)
                                  for name in ("planitem", "project", "plan"))
        line = {"plan_id": plan_id, "project_id": project["id"], "basis": "audit", "computed_amount": "1.00",
                "capped_amount": "1.00", "allocated_amount": "1.00"}
        written = sa.insert(items).values(line)
        refused = [
            [sa.insert(items).values({**line, "project_id": str(uuid.uuid4())})],  # no such project
            [sa.insert(items).values({**line, "plan_id": str(uuid.uuid4())})],  # no such plan
            [written, sa.update(items).where(items.c.plan_id == plan_id).values(project_id=str(uuid.uuid4()))],
            [written, sa.delete(projects).where(projects.c.id == project["id"])],  # a project a line refers to stays
            [written, sa.delete(plans).where(plans.c.id == plan_id)],  # and so does its plan
            # a project is allocated by one final plan: its final mark once (unmarked, it is in both versions)
            [sa.insert(items).values({**line, "final_project_id": project["id"]}),
             sa.insert(items).values({**line, "plan_id": later.json()["id"]}),
             sa.update(items).where(items.c.plan_id == later.json()["id"]).values(final_project_id=project["id"])],
        ]
        for statements in refused:
            with engine.connect() as connection, connection.begin() as transaction:
                try:
                    *before, last = statements
                    for statement in before:  # a line that refers to rows that exist is written
                        connection.execute(statement)
                    assert connection.execute(sa.select(sa.func.count()).select_from(items).where(
                        items.c.project_id == project["id"])).scalar_one() == len(before)
                    with pytest.raises(IntegrityError):
                        connection.execute(last)
                finally:
                    transaction.rollback()
        with engine.connect() as connection:  # nothing of the above was kept
            assert connection.execute(sa.select(sa.func.count()).select_from(items).where(
                items.c.project_id == project["id"])).scalar_one() == 0
    finally:
        engine.dispose()
