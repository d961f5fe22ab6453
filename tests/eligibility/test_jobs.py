"""Registry imports as jobs through the gateway: 202 and a job URL, progress, bad lines reported by number and good
lines kept, a per-line result file, a job that outlives its process, and jobs private to whoever submitted them."""
from __future__ import annotations

import csv
import io
import time
import uuid

from ..factories import new_uscc
from ..jobs import wait_for_job

BASE = "/api/v1/eligibility"
CSV = {"Content-Type": "text/csv; charset=utf-8"}
HEADER = "uscc,kind,source,listed_on,delisted_on\n"


def credit_list(lines: int, source: str, bad_every: int = 0) -> tuple[str, dict[int, str], list[str]]:
    """A credit list of `lines` entries; every `bad_every`-th is broken in turn three ways: (text, bad lines, units)."""
    out, bad, units = [HEADER], {}, []
    for i in range(lines):
        line_no, unit = i + 2, new_uscc()
        units.append(unit)
        row = f"{unit},major_tax_violation,{source},2023-01-01,\n"
        if bad_every and i % bad_every == bad_every - 1:
            broken = (i // bad_every) % 3
            if broken == 0:
                row = f"{unit[:-1]}{'0' if unit[-1] != '0' else '1'},major_tax_violation,{source},2023-01-01,\n"
                bad[line_no] = "uscc"
            elif broken == 1:
                row = f"{unit},lottery_winner,{source},2023-01-01,\n"
                bad[line_no] = "kind"
            else:
                row = f"{unit},major_tax_violation,{source},2023-01-01,2022-01-01\n"
                bad[line_no] = "delisted_on comes before listed_on"
        out.append(row)
    return "".join(out), bad, units


def test_a_large_credit_list_imports_as_a_job_keeping_good_lines_and_reporting_bad_ones(system):
    city = system.client_for("city_officer", "jobs-officer")
    text, bad, units = credit_list(20_000, f"信用中国 {uuid.uuid4().hex[:8]}", bad_every=997)
    accepted = city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(), headers=CSV)
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["location"].startswith(f"{BASE}/jobs/")
    first = accepted.json()
    assert (first["status"], first["total"], first["done"], first["kind"]) == ("queued", 20_000, 0,
                                                                                 "credit-entries-import")
    early = city.get(accepted.headers["location"] + "/result")
    assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
    seen = []
    deadline = time.monotonic() + 120
    while True:
        job = city.get(accepted.headers["location"]).json()
        seen.append(job["done"])
        if job["status"] in ("succeeded", "failed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert seen == sorted(seen)  # progress only grows
    assert job["status"] == "succeeded" and job["done"] == job["total"] == 20_000
    assert (job["succeeded"], job["failed"]) == (20_000 - len(bad), len(bad))
    assert {e["line"] for e in job["errors"]} == set(bad) and not job["errors_truncated"]
    for error in job["errors"]:
        assert bad[error["line"]] in error["message"], error
    assert job["result_url"] == accepted.headers["location"] + "/result"

    result = city.get(job["result_url"])
    assert result.status_code == 200 and result.headers["content-type"].startswith("text/csv")
    outcomes = list(csv.DictReader(io.StringIO(result.text)))
    assert len(outcomes) == 20_000 and [int(o["line"]) for o in outcomes] == list(range(2, 20_002))
    assert {int(o["line"]) for o in outcomes if o["outcome"] == "error"} == set(bad)
    assert {o["outcome"] for o in outcomes if int(o["line"]) not in bad} == {"created"}

    # good lines are kept and read back, bad ones are not
    for line_no in (2, 5000, 20_001):
        if line_no not in bad:
            listed = city.get(f"{BASE}/registries/credit-entries", params={"uscc": units[line_no - 2]}).json()
            assert listed["total"] == 1 and listed["items"][0]["id"] == outcomes[line_no - 2]["id"]
    a_bad_kind = next(line for line, why in bad.items() if why == "kind")
    assert city.get(f"{BASE}/registries/credit-entries", params={"uscc": units[a_bad_kind - 2]}).json()["total"] == 0

    # the changes are audited in the submitter's name
    admin = system.client_for("admin")
    entry_id = outcomes[0]["id"]
    events = admin.get(f"{BASE}/audit-events", params={"resource_type": "creditentry", "resource_id": entry_id})
    assert [(e["action"], e["actor"]) for e in events.json()["items"]] == [("create", "jobs-officer")]
    mine = city.get(f"{BASE}/jobs").json()
    assert job["id"] in [j["id"] for j in mine["items"]]


def test_a_whole_file_problem_is_refused_at_once_and_a_re_import_updates(system):
    city = system.client_for("city_officer")
    header = city.post(f"{BASE}/registries/credit-entries/import", content=b"uscc,colour\nx,red\n", headers=CSV)
    assert header.status_code == 422 and "colour" in header.json()["detail"]
    assert header.headers["content-type"] == "application/problem+json"
    media = city.post(f"{BASE}/registries/credit-entries/import", content=b"hello",
                      headers={"Content-Type": "text/plain"})
    assert media.status_code == 415 and media.headers["content-type"] == "application/problem+json"
    unit = new_uscc()
    text = f"{HEADER}{unit},customs_dishonesty,海关总署,2024-03-01,\n"
    assert wait_for_job(city, city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(),
                                        headers=CSV))["succeeded"] == 1
    again = wait_for_job(city, city.post(f"{BASE}/registries/credit-entries/import",
                                         content=text.replace("2024-03-01,", "2024-03-01,2024-09-30").encode(),
                                         headers=CSV))
    assert city.get(again["result_url"]).text.splitlines()[1].split(",")[:2] == ["2", "updated"]


def test_a_job_survives_the_death_of_its_process(system):
    city = system.client_for("city_officer", "restart-officer")
    source = f"重启 {uuid.uuid4().hex[:8]}"
    text, _, units = credit_list(20_000, source)
    accepted = city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(), headers=CSV)
    location = accepted.headers["location"]
    deadline = time.monotonic() + 60
    while (job := city.get(location).json())["done"] == 0:
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    eligibility = system.processes["eligibility"]
    eligibility.kill()  # mid-job: its lease stays behind until it runs out
    assert job["status"] == "running" and 0 < job["done"] < job["total"], job
    eligibility.start()
    ended = wait_for_job(city, accepted)
    assert (ended["status"], ended["done"], ended["succeeded"], ended["failed"]) == ("succeeded", 20_000, 20_000, 0)
    outcomes = list(csv.DictReader(io.StringIO(city.get(ended["result_url"]).text)))
    # every line exactly once: resumed after the last committed chunk, nothing applied twice
    assert [int(o["line"]) for o in outcomes] == list(range(2, 20_002))
    assert {o["outcome"] for o in outcomes} == {"created"} and len({o["id"] for o in outcomes}) == 20_000
    for unit in (units[0], units[9_999], units[-1]):
        assert city.get(f"{BASE}/registries/credit-entries", params={"uscc": unit}).json()["total"] == 1


def test_a_job_is_seen_only_by_whoever_submitted_it(system):
    owner = system.client_for("city_officer", "owner-officer")
    other = system.client_for("city_officer", "other-officer")
    unit = new_uscc()
    accepted = owner.post(f"{BASE}/registries/recognised-bases/import", json=[
        {"uscc": unit, "base_name": "大连中医药服务出口基地"}, {"uscc": "nonsense", "base_name": "x"}])
    job = wait_for_job(owner, accepted)
    assert (job["succeeded"], job["failed"], [e["line"] for e in job["errors"]]) == (1, 1, [2])
    for path in (job["url"], job["result_url"]):
        refused = other.get(path)
        assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    assert job["id"] not in [j["id"] for j in other.get(f"{BASE}/jobs").json()["items"]]
    assert system.client_for("admin").get(job["url"]).json()["id"] == job["id"]
    unknown = owner.get(f"{BASE}/jobs/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("not-found")
    assert owner.get(f"{BASE}/jobs/{uuid.uuid4()}/result").status_code == 404
    assert system.client_for("auditor").get(job["url"]).status_code == 403


def test_two_replicas_share_the_queue_and_never_run_a_line_twice(system):
    replica = system.spawn("eligibility")  # a second process on the same database, polling the same queue
    try:
        city = system.client_for("city_officer", "replica-officer")
        imports = [credit_list(3_000, f"副本 {n} {uuid.uuid4().hex[:6]}") for n in range(4)]
        accepted = [city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(), headers=CSV)
                    for text, _, _ in imports]
        for answer, (_, _, units) in zip(accepted, imports):
            job = wait_for_job(city, answer)
            assert (job["status"], job["done"], job["succeeded"]) == ("succeeded", 3_000, 3_000), job
            outcomes = list(csv.DictReader(io.StringIO(city.get(job["result_url"]).text)))
            assert [int(o["line"]) for o in outcomes] == list(range(2, 3_002))
            assert {o["outcome"] for o in outcomes} == {"created"}
            assert city.get(f"{BASE}/registries/credit-entries", params={"uscc": units[1_500]}).json()["total"] == 1
    finally:
        replica.stop()
