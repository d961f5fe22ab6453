"""A district's summary table (附件2) with thousands of projects, made as a job: 202, progress, the file as a result,
the same bytes as the direct export, and only for whoever may see the district."""
from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import create_engine, insert, select

from services.intake.models import Applicant, Application, ReviewRecord

from ..jobs import wait_for_job
from ..test_slice import submitted_platform_application, wait_for

DISTRICT = "210213"  # 金州区
SEEDED = 2_000


def _seed_passed_projects(system, model_application_id: str) -> None:
    """Clone one passed application into many units of the district, straight into intake's tables (a fixture)."""
    engine = create_engine(system.database_url("intake"))
    with engine.begin() as conn:
        model = conn.execute(select(Application).where(Application.id == model_application_id)).mappings().one()
        unit = conn.execute(select(Applicant).where(Applicant.id == model["applicant_id"])).mappings().one()
        review = conn.execute(select(ReviewRecord).where(ReviewRecord.application_id == model_application_id)
                              ).mappings().one()
        units, applications, reviews = [], [], []
        for index in range(SEEDED):
            unit_id, application_id = str(uuid.uuid4()), str(uuid.uuid4())
            units.append({**unit, "id": unit_id, "uscc": f"9121021300{index:07d}X", "name": f"金州基准{index:05d}有限公司"})
            applications.append({**model, "id": application_id, "applicant_id": unit_id, "single_project_key": None})
            reviews.append({**review, "id": str(uuid.uuid4()), "application_id": application_id})
        conn.execute(insert(Applicant), units)
        conn.execute(insert(Application), applications)
        conn.execute(insert(ReviewRecord), reviews)
    engine.dispose()


def test_a_large_summary_table_is_made_as_a_job(system):
    _, applicant, application = submitted_platform_application(system, district=DISTRICT)
    officer = system.client_for("district_officer", "officer-210213", district_code=DISTRICT)
    wait_for(lambda: officer.get(f"/api/v1/intake/applications/{application['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    assert officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                        json={"decision": "pass"}).status_code == 200
    _seed_passed_projects(system, application["id"])

    accepted = officer.post(f"/api/v1/intake/districts/{DISTRICT}/summary-jobs", params={"format": "csv"})
    job = wait_for_job(officer, accepted)
    assert job["status"] == "succeeded" and job["kind"] == "summary-export", job
    made = officer.get(f"{accepted.headers['location']}/result")
    assert made.status_code == 200 and made.headers["content-type"].startswith("text/csv")
    direct = officer.get(f"/api/v1/intake/districts/{DISTRICT}/summary", params={"format": "csv"})
    assert made.content == direct.content
    rows = list(csv.reader(io.StringIO(made.content.decode("utf-8-sig"))))
    assert len(rows) >= SEEDED + 2 and [applicant["name"], applicant["uscc"]] == [
        r[:2] for r in rows if r[1] == applicant["uscc"]][0]

    xlsx = wait_for_job(officer, officer.post(f"/api/v1/intake/districts/{DISTRICT}/summary-jobs",
                                              params={"format": "xlsx"}))
    assert xlsx["status"] == "succeeded"

    # another district's officer sees neither the district nor the job; the city may ask too
    other = system.client_for("district_officer", "officer-210202", district_code="210202")
    assert other.post(f"/api/v1/intake/districts/{DISTRICT}/summary-jobs").status_code == 404
    assert other.get(accepted.headers["location"]).status_code == 404
    assert other.get(f"{accepted.headers['location']}/result").status_code == 404
    unit = system.client_for("applicant", unit_uscc=applicant["uscc"])
    assert unit.post(f"/api/v1/intake/districts/{DISTRICT}/summary-jobs").status_code == 403
    assert system.client_for("city_officer").post(f"/api/v1/intake/districts/{DISTRICT}/summary-jobs"
                                                  ).status_code == 202
