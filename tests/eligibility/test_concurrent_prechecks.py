"""Pre-checks arriving together are answered as each alone would be: on PostgreSQL the pre-checks waiting for a
connection have their registry rows read in one statement (registry_readers.AsyncRegistryReader), dealt out to each
dossier as its own statement would read them."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..factories import new_uscc, platform_construction_content
from ..test_slice import submitted_platform_application, wait_for


def _answer(evaluation: dict) -> dict:
    """What a pre-check found, without its id and instant."""
    return {key: value for key, value in evaluation.items() if key not in ("id", "evaluated_at")}


def test_pre_checks_made_together_answer_as_each_alone(system):
    city = system.client_for("city_officer")
    # one unit debarred (N3.2), one application submitted whose invoices another dossier claims again (N3.3)
    debarred = new_uscc()
    assert city.post("/api/v1/eligibility/debarments", json={
        "uscc": debarred, "reason": "伪造材料", "source": "追缴记录 2023-031", "starts_on": "2023-06-01"}).status_code == 201
    client, _, application = submitted_platform_application(system)
    claimed = wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                       lambda a: a["evaluation_status"] == "done")["content"]
    dossiers = [{"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": uscc},
                 "content": content}
                for uscc, content in ((debarred, platform_construction_content()), (new_uscc(), claimed),
                                      (new_uscc(), platform_construction_content()))] * 8

    def pre_check(dossier: dict) -> dict:
        answer = city.post("/api/v1/eligibility/evaluations", json=dossier)
        assert answer.status_code == 200, answer.text
        return _answer(answer.json())

    alone = [pre_check(dossier) for dossier in dossiers[:3]]
    assert {c["clause"] for c in alone[0]["checks"] if c["outcome"] == "fail"} >= {"N3.2"}
    assert any(c["clause"] == "N3.3" and c["outcome"] != "pass" for c in alone[1]["checks"])
    assert alone[2]["outcome"] == "eligible"
    with ThreadPoolExecutor(max_workers=24) as pool:
        together = list(pool.map(pre_check, dossiers))
    assert together == alone * 8
