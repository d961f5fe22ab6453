"""Disbursement's jobs through the gateway: a long bank statement applied line by line (bad lines reported by
number, the errors kept capped with their count) and a plan exported in the background."""
from __future__ import annotations

import csv
import io
import uuid

from ..jobs import wait_for_job
from .flow import D, finalised_plan
from .test_payments import STATEMENT, audited_projects, key, statement


def test_a_long_bank_statement_runs_as_a_job_and_reports_every_bad_line(system, after_notice):
    audited_projects(system)
    plan = finalised_plan(system, after_notice)
    finance = system.client_for("finance_officer", "statement-clerk")
    instructions = finance.post(f"{D}/plans/{plan['id']}/payments", headers=key()).json()
    good = [f"{i['end_to_end_id']},paid,,{i['amount']}" for i in instructions]
    unknown = [f"FFNOSUCH{n:08d},paid,," for n in range(12_000)]
    lines = [*good[:1], *unknown[:6_000], *good[1:], *unknown[6_000:], f"{instructions[0]['end_to_end_id']},paid,,"]
    accepted = finance.post(f"{D}/payments/statements", headers=STATEMENT, content=statement(*lines))
    assert accepted.status_code == 202 and accepted.headers["location"].startswith(f"{D}/jobs/")
    job = wait_for_job(finance, accepted)
    assert (job["status"], job["total"], job["done"]) == ("succeeded", len(lines), len(lines))
    assert (job["succeeded"], job["failed"]) == (len(good) + 1, 12_000)
    assert len(job["errors"]) == 1000 and job["errors_truncated"] is True  # kept capped, counted in full
    assert job["errors"][0] == {"line": 3, "message": "unknown end_to_end_id"}

    outcomes = list(csv.DictReader(io.StringIO(finance.get(job["result_url"]).text)))
    assert [int(o["line"]) for o in outcomes] == list(range(2, len(lines) + 2))
    assert sum(o["outcome"] == "error" for o in outcomes) == 12_000
    assert [o["outcome"] for o in outcomes if o["outcome"] != "error"] == ["applied"] * len(good) + ["unchanged"]

    record = next(s for s in finance.get(f"{D}/payments/statements", params={"limit": 200}).json()["items"]
                  if s["id"] == job["result_ref"])
    assert (record["lines"], record["applied"], record["unchanged"], len(record["errors"])) == (
        len(lines), len(good), 1, 1000)
    assert record["received_by"] == "statement-clerk"
    recon = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert recon["balanced"] and recon["total"]["paid"] == plan["total"]
    header = finance.post(f"{D}/payments/statements", headers=STATEMENT, content=b"colour\nred\n")
    assert header.status_code == 422 and header.headers["content-type"] == "application/problem+json"


def test_a_plan_exports_as_a_job_to_the_same_file_and_only_its_submitter_reads_it(system, after_notice):
    audited_projects(system)
    plan = finalised_plan(system, after_notice)
    city = system.client_for("city_officer", "export-officer")
    for format in ("csv", "xlsx"):
        job = wait_for_job(city, city.post(f"{D}/plans/{plan['id']}/export-jobs", params={"format": format}))
        assert (job["status"], job["kind"], job["total"], job["done"]) == ("succeeded", "plan-export", 1, 1)
        result = city.get(job["result_url"])
        direct = city.get(f"{D}/plans/{plan['id']}/export", params={"format": format})
        assert result.headers["content-type"] == direct.headers["content-type"]
        assert result.headers["content-disposition"] == direct.headers["content-disposition"]
        if format == "csv":
            assert result.content == direct.content
    other = system.client_for("finance_officer", "someone-else")
    assert other.get(job["url"]).status_code == 404 and other.get(job["result_url"]).status_code == 404
    assert system.client_for("admin").get(job["url"]).status_code == 200
    assert system.client_for("applicant").post(f"{D}/plans/{plan['id']}/export-jobs").status_code == 403
    missing = city.post(f"{D}/plans/{uuid.uuid4()}/export-jobs")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
