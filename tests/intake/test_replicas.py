"""Two replicas of intake on one database: each submission is evaluated exactly once."""
from __future__ import annotations

import sqlalchemy as sa

from ..test_slice import submitted_platform_application, wait_for


def test_two_intake_replicas_never_process_the_same_message_twice(system):
    replica = system.spawn("intake")
    eligibility = system.processes["eligibility"]
    eligibility.kill()
    try:
        submitted = [submitted_platform_application(system) for _ in range(6)]
    finally:
        eligibility.start()
    city = system.client_for("city_officer")
    for _, _, application in submitted:
        wait_for(lambda: city.get(f"/api/v1/intake/applications/{application['id']}").json(),
                 lambda a: a["evaluation_status"] == "done", timeout=40)
    replica.stop()
    engine = sa.create_engine(system.database_url("eligibility"))
    try:
        with engine.connect() as conn:
            counts = dict(conn.execute(sa.text(
                "SELECT application_id, count(*) FROM evaluation WHERE application_id IN :ids GROUP BY application_id"
            ).bindparams(sa.bindparam("ids", expanding=True)), {"ids": [a["id"] for _, _, a in submitted]}).all())
    finally:
        engine.dispose()
    assert counts == {a["id"]: 1 for _, _, a in submitted}
