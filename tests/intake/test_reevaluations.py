"""Re-evaluating an edition after a registry is corrected: every application in play asked again, in batches, with
its progress visible; what the correction changes shows in the application's evaluation (N3.2)."""
from __future__ import annotations

from common.audit import text_digest
from common.db import json_text

from ..test_slice import submitted_platform_application, wait_for

I = "/api/v1/intake"


def test_an_edition_is_evaluated_again_and_a_correction_shows(system):
    client, applicant, application = submitted_platform_application(system)
    others = [submitted_platform_application(system, district="210211")[2] for _ in range(2)]
    first = wait_for(lambda: client.get(f"{I}/applications/{application['id']}").json(),
                     lambda a: a["evaluation_status"] == "done")
    assert first["evaluation"]["outcome"] == "eligible"
    city = system.client_for("city_officer")
    # the unit is found to have forged materials in an earlier edition: debarred since before it applied (N3.2)
    debarred = city.post("/api/v1/eligibility/debarments", json={
        "uscc": applicant["uscc"], "reason": "伪造材料", "source": "追缴记录 2023-017", "starts_on": "2023-06-01"})
    assert debarred.status_code == 201, debarred.text

    started = city.post(f"{I}/editions/2024/re-evaluations", json={"reason": "失信记录更正"})
    assert started.status_code == 202, started.text
    progress = started.json()
    assert started.headers["location"] == f"/api/v1/intake/re-evaluations/{progress['id']}"
    assert progress["total"] >= 3 and progress["requested_by"] == "test-city_officer"
    finished = wait_for(lambda: city.get(started.headers["location"]).json(), lambda r: r["status"] == "finished",
                        timeout=60)
    assert finished["done"] + finished["superseded"] == finished["total"] and finished["retrying"] == 0

    again = client.get(f"{I}/applications/{application['id']}").json()
    assert again["evaluation_status"] == "done" and again["evaluation"]["outcome"] == "ineligible"
    assert any(c["clause"] == "N3.2" and c["outcome"] == "fail" for c in again["evaluation"]["checks"])
    assert again["evaluation"]["id"] != first["evaluation"]["id"]
    # the trail names the answers replaced and their replacements by the digests of their JSON as stored, kept with
    # them (migration 0008)
    trail = city.get(f"{I}/audit-events", params={"resource_type": "application", "resource_id": application["id"],
                                                   "limit": 100}).json()["items"]
    stored = [e for e in trail if e["actor"] == "system" and "evaluation" in e["after"]]
    old, new = ({answer: text_digest(json_text(answers[answer])) for answer in ("evaluation", "computation")}
                for answers in (first, again))
    assert [(e["before"]["evaluation"], e["after"]["evaluation"]) for e in stored] == [
        (None, old["evaluation"]), (old["evaluation"], new["evaluation"])]
    assert (stored[-1]["before"]["computation"], stored[-1]["after"]["computation"]) == (old["computation"],
                                                                                          new["computation"])
    assert city.get(f"{I}/audit-events/verify").json()["valid"] is True
    for other in others:  # the others are unchanged, and evaluated again too
        seen = city.get(f"{I}/applications/{other['id']}").json()
        assert seen["evaluation_status"] == "done" and seen["evaluation"]["outcome"] == "eligible"
    kept = city.get("/api/v1/eligibility/evaluations", params={"application_id": application["id"]}).json()
    # both kept: the history (the programme clock is fixed in tests, so both carry the same instant)
    assert sorted(e["outcome"] for e in kept["items"]) == ["eligible", "ineligible"]
    listed = city.get(f"{I}/re-evaluations").json()
    assert listed["items"][0]["id"] == progress["id"]


def test_re_evaluations_are_the_citys_and_refused_clearly(system):
    _, applicant, _ = submitted_platform_application(system)
    unit = system.client_for("applicant", unit_uscc=applicant["uscc"])
    assert unit.post(f"{I}/editions/2024/re-evaluations", json={"reason": "x"}).status_code == 403
    assert system.client_for("district_officer", district_code="210202").get(f"{I}/re-evaluations").status_code == 403
    city = system.client_for("city_officer")
    missing = city.get(f"{I}/re-evaluations/no-such-id")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    empty = city.post(f"{I}/editions/2031/re-evaluations", json={"reason": "nothing there"})
    assert empty.status_code == 422 and "no application in play" in empty.json()["detail"]
    assert city.post(f"{I}/editions/2024/re-evaluations", json={"reason": ""}).status_code == 422


def test_the_batch_operations_answer_each_item_alone(system):
    city = system.client_for("city_officer")
    _, _, application = submitted_platform_application(system)
    dossier = city.get(f"{I}/applications/{application['id']}/dossier").json()
    precheck = {k: v for k, v in dossier.items() if k not in ("application_id", "submitted_at")}
    broken = {**precheck, "project_type": "moon_base"}
    for path in ("/api/v1/eligibility/evaluations/batch", "/api/v1/calculation/computations/batch"):
        answer = city.post(path, json={"items": [precheck, {"edition": "2024"}, broken]})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert [i["index"] for i in items] == [0, 1, 2]
        assert items[0]["result"] is not None and items[0]["problem"] is None
        assert items[1]["result"] is None and items[1]["problem"]["status"] == 422
        assert items[2]["problem"]["status"] == 422 and "moon_base" in items[2]["problem"]["detail"]
        too_many = city.post(path, json={"items": [precheck] * 501})
        assert too_many.status_code == 422
        unit = system.client_for("applicant", unit_uscc=dossier["applicant"]["uscc"])
        assert unit.post(path, json={"items": [precheck]}).status_code == 403


def test_a_re_evaluations_progress_counts_every_way_a_message_ends(system):
    """done, retrying and superseded as the outbox, a resubmission and a later re-evaluation move its messages
    (kept on the re-evaluation's row by the transactions that move them, migration 0009)."""
    client, _, application = submitted_platform_application(system, district="210212")
    url = f"{I}/applications/{application['id']}"
    wait_for(lambda: client.get(url).json(), lambda a: a["evaluation_status"] == "done")
    city = system.client_for("city_officer")
    eligibility = system.processes["eligibility"]
    eligibility.kill()
    try:
        first = city.post(f"{I}/editions/2024/re-evaluations", json={"reason": "参数更正 1"})
        assert first.status_code == 202, first.text
        progress = first.json()
        assert (progress["done"], progress["superseded"], progress["status"]) == (0, 0, "running")
        total = progress["total"]
        # eligibility away: every message tried once and waiting for the next attempt
        waiting = wait_for(lambda: city.get(first.headers["location"]).json(), lambda r: r["retrying"] == total)
        assert (waiting["done"], waiting["superseded"], waiting["status"]) == (0, 0, "running")
        # returned and resubmitted meanwhile: its new submission's evaluation replaces the re-evaluation's
        officer = system.client_for("district_officer", district_code="210212")
        assert client.get(url).json()["status"] == "submitted"
        assert officer.post(f"{url}/review", json={"decision": "return", "reason": "补充材料"}).status_code == 200
        assert client.post(f"{url}/submit").status_code == 200
        resubmitted = city.get(first.headers["location"]).json()
        assert (resubmitted["superseded"], resubmitted["retrying"], resubmitted["done"]) == (1, total - 1, 0)
        # asked again before it ended: the later request replaces what the first still had queued
        second = city.post(f"{I}/editions/2024/re-evaluations", json={"reason": "参数更正 2"})
        assert second.status_code == 202, second.text
        replaced = city.get(first.headers["location"]).json()
        assert (replaced["done"], replaced["superseded"], replaced["retrying"], replaced["status"]) == (
            0, total, 0, "finished")
    finally:
        eligibility.start()
    finished = wait_for(lambda: city.get(second.headers["location"]).json(), lambda r: r["status"] == "finished",
                        timeout=60)
    assert (finished["done"], finished["superseded"], finished["retrying"]) == (finished["total"], 0, 0)
    assert client.get(url).json()["evaluation_status"] == "done"
    listed = {r["id"]: r for r in city.get(f"{I}/re-evaluations").json()["items"]}
    assert listed[progress["id"]]["superseded"] == total and listed[second.json()["id"]]["done"] == finished["total"]
