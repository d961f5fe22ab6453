"""Pricing in batches (an edition re-priced by intake's outbox): every answer, and every row kept, as the single
POST /computations gives it; the batch's rows are written in one INSERT instead of through the ORM."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from ..factories import new_uscc, platform_construction_content

CALC = "/api/v1/calculation"
SUBMITTED = "2025-12-10T02:00:00Z"
# what the table keeps besides its id and when it was written
KEPT = ("application_id", "edition", "project_type", "uscc", "amount", "reference_date", "disallowed", "warnings",
        "dossier_sha256", "trace")


def _application(project_type: str, content: dict, **extra) -> dict:
    return {"edition": "2024", "application_id": f"batch-{uuid.uuid4().hex[:12]}", "project_type": project_type,
            "submitted_at": SUBMITTED, "applicant": {"uscc": new_uscc()}, "content": content, **extra}


def _dossiers() -> list[dict]:
    """Every amount method, disallowed lines (N4.2), a pre-check, and items refused on their own."""
    interest = {"offshore_execution": {"approved_usd": "6000000.00"}, "f9_interest_contracts": [
        {"line_no": 1, "contract_number": "C-1", "executed_on": "2024-03-01", "executed_usd": "700000.00",
         "receipt_on": "2024-04-01", "receipt_currency": "USD", "receipt_amount": "650000.00"},
        {"line_no": 2, "contract_number": "C-2", "executed_on": "2024-05-01", "executed_usd": "100000.00",
         "receipt_on": "2024-06-01", "receipt_currency": "JPY", "receipt_amount": "10000000.00"}]}
    certifications = {"f5_certifications": [
        {"line_no": 1, "scheme": "CMMI", "certified_on": "2024-02-01", "fee": "90000.00", "requested": "50000.00"},
        {"line_no": 2, "scheme": "ISO 27001", "certified_on": "2022-02-01", "fee": "30000.00",
         "requested": "21000.00"}]}
    platform = _application("platform_construction", platform_construction_content(), disallowed=[
        {"form": "f3_expenses", "line_no": 2, "reason": "发票与合同不符"},
        {"form": "f3_expenses", "line_no": 9, "reason": "笔误"}])
    return [
        platform,
        _application("platform_operation", platform_construction_content([("rent", "90000.00", "2024-05-01")])),
        _application("interest_subsidy", interest),
        _application("certification", certifications),
        _application("brand", {"award": {"title": "iaop_rising_star"}}),
        _application("brand", {"award": {"title": "no_such_title"}}, applicant={"uscc": "9" * 60}),  # kept cut to 40
        _application("tcm_construction", platform_construction_content(), submitted_at=None),  # priced as of today
        {k: v for k, v in platform.items() if k not in ("application_id", "submitted_at")},  # a pre-check: not kept
        _application("moon_base", {}),  # refused by the service: no such project type
        {"edition": "2024"},  # refused by validation
    ]


def _without_id(computation: dict) -> dict:
    return {k: v for k, v in computation.items() if k != "id"}


def test_a_batch_answers_and_keeps_what_single_computations_do(system):
    city = system.client_for("city_officer")
    dossiers = _dossiers()
    batch = city.post(f"{CALC}/computations/batch", json={"items": dossiers})
    assert batch.status_code == 200, batch.text
    answers = batch.json()["items"]
    singles = [city.post(f"{CALC}/computations", json=d) for d in dossiers]
    assert [a["index"] for a in answers] == list(range(len(dossiers)))
    for answer, single in zip(answers, singles):
        if single.status_code == 200:
            assert answer["problem"] is None and _without_id(answer["result"]) == _without_id(single.json())
        else:
            assert answer["result"] is None and answer["problem"]["status"] == single.status_code == 422
    refused = answers[-2]["problem"]
    assert "moon_base" in refused["detail"] and refused["detail"] == singles[-2].json()["detail"]
    assert refused["errors"] == singles[-2].json()["errors"]
    priced = [a["result"] for a in answers if a["result"] is not None]
    assert len(priced) == 8 and len({p["id"] for p in priced}) == 8
    assert all(len(p["id"]) == 36 and p["id"][14] == "4" for p in priced)  # random UUID4 strings

    # the rows kept: one per application from the batch, one from its single computation, the same but for id and time
    batch_ids = {a["result"]["id"] for a in answers if a["result"] is not None}
    single_ids = {s.json()["id"] for s in singles if s.status_code == 200}
    applications = [d["application_id"] for d in dossiers if d.get("application_id") and d["project_type"] != "moon_base"]
    engine = sa.create_engine(system.database_url("calculation"))
    try:
        with engine.connect() as connection:
            table = sa.Table("computation", sa.MetaData(), autoload_with=connection)
            rows = connection.execute(sa.select(table).where(table.c.application_id.in_(applications))
                                      ).mappings().all()
            precheck_rows = connection.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.id.in_([answers[7]["result"]["id"], singles[7].json()["id"]]))).scalar_one()
    finally:
        engine.dispose()
    assert precheck_rows == 0  # pre-checks are kept nowhere (keep_prechecks is off)
    from_batch = {r["application_id"]: r for r in rows if r["id"] in batch_ids}
    from_singles = {r["application_id"]: r for r in rows if r["id"] in single_ids}
    assert len(rows) == 2 * len(applications) and list(from_batch) != [] and set(from_batch) == set(applications)
    for application_id, row in from_batch.items():
        single = from_singles[application_id]
        assert {k: row[k] for k in KEPT} == {k: single[k] for k in KEPT}
        assert row["created_at"] is not None and len(row["dossier_sha256"]) == 64
    assert from_batch[applications[5]]["uscc"] == "9" * 40

    # as the API lists them: an application's two computations alike but for their ids
    for application_id in applications:
        listed = city.get(f"{CALC}/computations", params={"application_id": application_id}).json()["items"]
        assert len(listed) == 2 and _without_id(listed[0]) == _without_id(listed[1])


def test_a_dossier_from_before_the_editions_parameters_is_refused_alone(system):
    # the 2024 edition's figures take effect on 2025-12-05: a dossier submitted earlier has no project types to be
    # priced by, which is the caller's 422, not the batch's 500
    city = system.client_for("city_officer")
    early = _application("platform_construction", platform_construction_content(), submitted_at="2024-06-01T02:00:00Z")
    single = city.post(f"{CALC}/computations", json=early)
    assert single.status_code == 422 and "2024-06-01" in single.json()["detail"]
    batch = city.post(f"{CALC}/computations/batch", json={"items": [early, _application(
        "brand", {"award": {"title": "iaop_rising_star"}})]})
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["items"]
    assert first["problem"]["status"] == 422 and first["problem"]["detail"] == single.json()["detail"]
    assert second["result"]["amount"] is not None


def test_the_calculation_service_keeps_no_audit_trail(system):
    # the batch writes its rows without the ORM, which an audit trail's flush hook would not see (common/audit.py);
    # should calculation ever get a trail, compute_batch must append the same events itself (append_events)
    direct = system.client_for("city_officer", direct="calculation")
    assert direct.get("/audit-events").status_code == 404
    assert direct.get("/audit-events/verify").status_code == 404
