"""A batch of evaluations answers exactly as the same dossiers evaluated one by one, in the same order: each dossier
sees the claims of those before it in the batch and the stored claims of the others (N3.3), and leaves the same
claims and kept evaluations behind."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import httpx
import psycopg

from ..factories import PLEDGES, new_uscc
from ..system import PG_ADMIN_DSN

SUBMITTED = "2025-12-10T10:00:00+08:00"


@contextmanager
def fresh_eligibility(system, tmp_path, name: str):
    """One more eligibility process on a database of its own (the test's backend), as a city officer's client."""
    env = {"ELIGIBILITY_DATA_DIR": str(tmp_path / name)}
    database = None
    if system.pg is not None:
        database = f"{system.pg.prefix}_{name}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        env["ELIGIBILITY_DATABASE_URL"] = system.pg.url("eligibility").rsplit("/", 1)[0] + "/" + database
    process = system.spawn("eligibility", **env)
    try:
        with httpx.Client(base_url=process.url, timeout=60.0,
                          headers={"Authorization": f"Bearer {system.token('city_officer')}"}) as client:
            yield client
    finally:
        process.stop()
        if database is not None:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _platform(uscc: str, application_id: str | None, invoices: list[str], platform: str, **extra) -> dict:
    """A platform construction dossier claiming these invoice numbers on lines 1, 2, ... (submitted when it has an id)."""
    lines = [{"line_no": i, "expense_kind": "server", "contract_amount": "50000.00", "invoice_amount": "50000.00",
              "paid_amount": "50000.00", "invoice_number": number, "invoice_date": "2024-03-01"}
             for i, number in enumerate(invoices, 1)]
    return {"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": uscc},
            "application_id": application_id, "submitted_at": SUBMITTED if application_id else None,
            "content": {"f1_commitment": {"pledges": PLEDGES, "signatory": "张三", "signed_on": "2025-12-01"},
                        "f2_platform": {"platform_name": platform, "completed_on": "2024-03-15",
                                        "served_firm_count": 2},
                        "f3_expenses": lines,
                        "f4_served_firms": [{"line_no": 1, "name": "大连服务企业1", "uscc": new_uscc()},
                                            {"line_no": 2, "name": "大连服务企业2", "uscc": new_uscc()}]},
            **extra}


def _answer(result: dict) -> dict:
    """An evaluation without what differs between two runs (its id and instant)."""
    return {k: v for k, v in result.items() if k not in ("id", "evaluated_at")}


def _kept(client: httpx.Client, units: list[str], applications: list[str]) -> dict:
    """What a database holds afterwards: the claimed invoices, each unit's claimed projects, the kept evaluations."""
    invoices = client.get("/registries/claimed-invoices", params={"edition": "2024", "limit": 200}).json()
    projects = {unit: client.get(f"/registries/units/{unit}").json()["applications"] for unit in units}
    evaluations = {}
    for application_id in applications:
        listed = client.get("/evaluations", params={"application_id": application_id, "limit": 200}).json()
        evaluations[application_id] = sorted((e["outcome"], repr(e["checks"])) for e in listed["items"])
    return {"invoices": invoices["items"], "projects": projects, "evaluations": evaluations}


def test_a_batch_answers_as_the_same_dossiers_one_by_one_and_keeps_the_same_claims(system, tmp_path):
    tag = uuid.uuid4().hex[:6]
    inv = {n: f"INV{tag}{n}" for n in range(1, 8)}
    u = {n: new_uscc() for n in range(1, 8)}
    app = {name: f"{name}-{tag}" for name in ("s1", "s2", "n1", "n2", "n3", "n4", "n5")}
    p = {n: f"大连测试平台{tag}{n}" for n in range(1, 4)}
    invalid_uscc = u[1][:-1] + ("0" if u[1][-1] != "0" else "1")
    stored = [_platform(u[1], app["s1"], [inv[1], inv[2]], p[1]),  # applications evaluated before the batch
              _platform(u[2], app["s2"], [inv[3], f"X{tag}"], p[2])]
    batch = [
        # a new application claiming a stored one's invoice
        _platform(u[3], app["n1"], [inv[1], inv[4]], p[3]),
        # a new application with the first one's invoice and platform: the later of the two is flagged
        _platform(u[4], app["n2"], [inv[4].lower(), inv[5]], p[3]),
        {"edition": "2024", "applicant": {"uscc": u[5]}},  # malformed: refused alone
        # a stored application evaluated again, its invoices changed: its old claim of inv 2 is gone for those after
        _platform(u[1], app["s1"], [inv[1], inv[5]], p[1]),
        # a unit on the credit list claiming the replaced invoice and another stored application's invoice and platform
        _platform(u[5], app["n3"], [inv[2], f" {inv[3]} ", inv[2]], p[2]),
        # the other stored application, unchanged
        _platform(u[2], app["s2"], [inv[3], f"X{tag}"], p[2]),
        # the first application again in the same batch, its form corrected: its new claims replace those above
        _platform(u[3], app["n1"], [inv[6], inv[6]], p[3] + "二期"),
        # a pre-check claims nothing but sees what is claimed so far
        _platform(u[6], None, [inv[4], inv[6]], p[3]),
        # an invalid USCC records no claims
        _platform(invalid_uscc, app["n4"], [inv[6], inv[7]], p[1]),
        # sees the first application's corrected claims, not the invalid one's
        _platform(u[7], app["n5"], [inv[7], inv[6], inv[1]], p[3] + "二期"),
        # refused by a rule of the edition (an unknown project type)
        {**_platform(u[7], app["n5"], [inv[1]], p[1]), "project_type": "no_such_type"},
    ]
    credit = [{"uscc": u[5], "kind": "serious_dishonesty", "source": "信用中国", "listed_on": "2024-06-01"}]
    units = list(u.values()) + [invalid_uscc]
    kept = {}
    with fresh_eligibility(system, tmp_path, f"batch_{tag}") as batched, \
            fresh_eligibility(system, tmp_path, f"single_{tag}") as single:
        for client in (batched, single):
            assert client.post("/registries/credit-entries", json=credit).status_code == 201
            for dossier in stored:
                assert client.post("/evaluations", json=dossier).status_code == 200

        response = batched.post("/evaluations/batch", json={"items": batch})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        answers = [single.post("/evaluations", json=dossier) for dossier in batch]

        assert [item["index"] for item in items] == list(range(len(batch)))
        for item, answer in zip(items, answers):
            if answer.status_code == 200:
                assert item["problem"] is None and _answer(item["result"]) == _answer(answer.json()), item["index"]
            else:
                assert item["result"] is None and item["problem"]["status"] == answer.status_code == 422
        # the cases above happened as described
        outcome = {i: {c["rule"]: c for c in item["result"]["checks"]} for i, item in enumerate(items)
                   if item["result"]}
        invoice, project = "duplicate.invoice_claimed_twice", "duplicate.project_declared_twice"
        assert outcome[0][invoice]["details"]["other_applications"] == [app["s1"]]
        assert project not in outcome[0]
        assert outcome[1][invoice]["details"]["other_applications"] == [app["n1"]]
        assert outcome[1][project]["details"]["other_applications"] == [app["n1"]]
        assert outcome[3][invoice]["details"]["other_applications"] == sorted([app["n1"], app["n2"]])
        assert outcome[4][invoice]["details"]["other_applications"] == [app["s2"]]
        assert any(d["within"] for d in outcome[4][invoice]["details"]["duplicates"])
        assert outcome[4]["credit.joint_punishment_list"]["outcome"] == "fail"
        assert outcome[5][invoice]["details"]["other_applications"] == [app["n3"]]
        assert outcome[7][invoice]["details"]["other_applications"] == sorted([app["n1"], app["n2"]])
        assert outcome[8]["applicant.uscc_valid"]["outcome"] == "fail"
        assert outcome[9][invoice]["details"]["other_applications"] == sorted([app["n1"], app["s1"]])
        assert outcome[9][project]["details"]["other_applications"] == [app["n1"]]

        for client in (batched, single):
            kept[client] = _kept(client, units, list(app.values()))
        assert kept[batched] == kept[single]
        assert {i["application_id"] for i in kept[batched]["invoices"]} == {app[a] for a in ("s1", "s2", "n1", "n2",
                                                                                             "n3", "n5")}
