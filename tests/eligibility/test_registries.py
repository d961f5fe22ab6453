"""Registries through the gateway: bulk imports as CSV or JSON (jobs: good lines kept, bad ones named by line, a
re-import updating), paged listings and everything on one unit, and who may read or change them."""
from __future__ import annotations

from ..factories import new_uscc
from ..jobs import wait_for_job

BASE = "/api/v1/eligibility"
CSV = {"Content-Type": "text/csv; charset=utf-8"}


def test_credit_entries_imported_as_csv_update_on_reimport_and_count_as_of_a_date(system):
    city = system.client_for("city_officer")
    unit, other = new_uscc(), new_uscc()
    text = ("\ufeffuscc,kind,source,listed_on,delisted_on\n"
            f"{unit},major_tax_violation,信用中国（辽宁大连）,2019-05-01,2020-12-09\n"
            f"{unit},customs_dishonesty,海关总署,2024-03-01,\n"
            f"{other},serious_dishonesty,信用中国（辽宁大连）,2023-01-01,\n")
    created = wait_for_job(city, city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(),
                                           headers=CSV))
    assert (created["status"], created["succeeded"], created["failed"]) == ("succeeded", 3, 0)
    # the customs entry is delisted: the same file again, with its delisting date, updates it
    relisted = text.replace("2024-03-01,", "2024-03-01,2024-09-30")
    again = wait_for_job(city, city.post(f"{BASE}/registries/credit-entries/import", content=relisted.encode(),
                                         headers=CSV))
    outcomes = [line.split(",")[1] for line in city.get(again["result_url"]).text.splitlines()[1:]]
    assert outcomes == ["unchanged", "updated", "unchanged"]
    page = city.get(f"{BASE}/registries/credit-entries", params={"uscc": unit, "limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["kind"] == "customs_dishonesty"
    assert page["items"][0]["delisted_on"] == "2024-09-30"
    view = city.get(f"{BASE}/registries/units/{unit}", params={"on": "2025-12-10"}).json()
    assert (view["since"], view["on_credit_list"], view["debarred"]) == ("2020-12-10", True, False)
    assert {e["kind"]: e["counts"] for e in view["credit_entries"]} == {"major_tax_violation": False,
                                                                       "customs_dishonesty": True}
    # five years after the delisting nothing counts any more
    assert city.get(f"{BASE}/registries/units/{unit}", params={"on": "2029-10-01"}).json()["on_credit_list"] is False


def test_an_import_with_bad_lines_keeps_the_good_ones_and_names_the_bad(system):
    city = system.client_for("city_officer")
    unit = new_uscc()
    wrong_digit = unit[:-1] + ("0" if unit[-1] != "0" else "1")
    text = ("uscc,kind,source,listed_on\n"
            f"{unit},major_tax_violation,信用中国,2021-01-01\n"
            f"{wrong_digit},major_tax_violation,信用中国,2021-01-01\n"
            f"{unit},lottery_winner,信用中国,2021-13-01\n")
    job = wait_for_job(city, city.post(f"{BASE}/registries/credit-entries/import", content=text.encode(),
                                       headers=CSV))
    assert (job["succeeded"], job["failed"]) == (1, 2)
    errors = {e["line"]: e["message"] for e in job["errors"]}
    assert set(errors) == {3, 4} and "uscc" in errors[3] and "kind" in errors[4] and "listed_on" in errors[4]
    assert city.get(f"{BASE}/registries/credit-entries", params={"uscc": unit}).json()["total"] == 1
    header = city.post(f"{BASE}/registries/credit-entries/import", content=b"uscc,colour\nx,red\n", headers=CSV)
    assert header.status_code == 422 and "colour" in header.json()["detail"]
    media = city.post(f"{BASE}/registries/credit-entries/import", content=b"hello",
                      headers={"Content-Type": "text/plain"})
    assert media.status_code == 415 and media.headers["content-type"] == "application/problem+json"
    backwards = city.post(f"{BASE}/registries/credit-entries", json=[{
        "uscc": unit, "kind": "major_tax_violation", "source": "x", "listed_on": "2021-01-01",
        "delisted_on": "2020-01-01"}])
    assert backwards.status_code == 422


def test_debarments_last_the_editions_years_and_are_recorded_once(system):
    city = system.client_for("city_officer")
    unit = new_uscc()
    body = {"uscc": unit, "reason": "伪造材料", "source": "clawback 42", "starts_on": "2025-12-10"}
    first = city.post(f"{BASE}/debarments", json=body)
    assert first.status_code == 201 and first.json()["ends_on"] == "2028-12-10"  # N3.2: three years
    assert city.post(f"{BASE}/debarments", json=body).json()["id"] == first.json()["id"]
    assert [d["id"] for d in city.get(f"{BASE}/debarments", params={"uscc": unit}).json()] == [first.json()["id"]]
    text = (f"uscc,reason,source,starts_on,ends_on\n{unit},虚假发票,稽查 7,2024-02-29,\n"
            f"{unit},伪造材料,稽查 8,2023-01-01,2023-06-01\n")
    imported = wait_for_job(city, city.post(f"{BASE}/registries/debarments/import", content=text.encode(),
                                            headers=CSV))
    assert (imported["succeeded"], imported["failed"]) == (2, 0)
    page = city.get(f"{BASE}/registries/debarments", params={"uscc": unit}).json()
    assert page["total"] == 3 and [d["ends_on"] for d in page["items"]] == ["2028-12-10", "2027-03-01", "2023-06-01"]
    view = city.get(f"{BASE}/registries/units/{unit}", params={"on": "2023-03-01"}).json()
    assert view["debarred"] is True and [d["active"] for d in view["debarments"]] == [True, False, False]
    bad = city.post(f"{BASE}/debarments", json={**body, "ends_on": "2025-12-10"})
    assert bad.status_code == 422


def test_recognised_bases_import_as_json_or_csv_and_update(system):
    city = system.client_for("city_officer")
    unit, other = new_uscc(), new_uscc()
    made = wait_for_job(city, city.post(f"{BASE}/registries/recognised-bases/import", json=[
        {"uscc": unit, "base_name": "大连中医药服务出口基地", "recognised_on": "2022-06-01"}]))
    assert made["succeeded"] == 1
    text = (f"uscc,base_name,recognised_on,construction_supported_in\n{unit},大连中医药服务出口基地（更名）,2022-06-01,2023\n"
            f"{other},旅顺中医药基地,,\n")
    both = wait_for_job(city, city.post(f"{BASE}/registries/recognised-bases/import", content=text.encode(),
                                        headers=CSV))
    assert [line.split(",")[1] for line in city.get(both["result_url"]).text.splitlines()[1:]] == ["updated",
                                                                                                    "created"]
    base = city.get(f"{BASE}/registries/recognised-bases", params={"uscc": unit}).json()["items"][0]
    assert (base["base_name"], base["construction_supported_in"]) == ("大连中医药服务出口基地（更名）", "2023")
    assert city.get(f"{BASE}/registries/units/{other}").json()["recognised_base"]["base_name"] == "旅顺中医药基地"


def test_who_may_read_and_change_the_registries(system):
    unit = new_uscc()
    entry = [{"uscc": unit, "kind": "major_tax_violation", "source": "x", "listed_on": "2021-01-01"}]
    for role in ("applicant", "district_officer", "auditor", "expert", "finance_officer"):
        client = system.client_for(role, unit_uscc=unit if role == "applicant" else None,
                                   district_code="210202" if role == "district_officer" else None)
        assert client.post(f"{BASE}/registries/credit-entries", json=entry).status_code == 403, role
        assert client.post(f"{BASE}/registries/credit-entries/import", content=b"uscc\n",
                           headers=CSV).status_code == 403, role
        assert client.post(f"{BASE}/debarments", json={"uscc": unit, "reason": "r", "source": "s",
                                                       "starts_on": "2025-01-01"}).status_code == 403, role
        can_read = role in ("district_officer", "auditor")
        for path in ("registries/credit-entries", "registries/debarments", "registries/recognised-bases",
                     "registries/claimed-invoices", f"registries/units/{unit}", "debarments"):
            assert client.get(f"{BASE}/{path}").status_code == (200 if can_read else 403), (role, path)
    admin = system.client_for("admin")
    assert admin.post(f"{BASE}/registries/credit-entries", json=entry).status_code == 201
    # every registry change is in the audit trail: who, what
    total = admin.get(f"{BASE}/audit-events", params={"resource_type": "creditentry", "limit": 1}).json()["total"]
    last = admin.get(f"{BASE}/audit-events", params={"resource_type": "creditentry", "limit": 1,
                                                     "offset": total - 1}).json()["items"][0]
    assert (last["action"], last["actor"], last["after"]["uscc"]) == ("create", "test-admin", unit)
