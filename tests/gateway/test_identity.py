"""The gateway's token issuer: password and refresh grants, user administration, token rules."""
from __future__ import annotations

import uuid

import httpx

from ..system import ADMIN_PASSWORD


def login(api: httpx.Client, username: str, password: str) -> httpx.Response:
    return api.post("/auth/token", data={"grant_type": "password", "username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_logs_in_and_manages_users(api):
    response = login(api, "admin", ADMIN_PASSWORD)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["role"] == "admin" and tokens["expires_in"] == 900
    name = f"officer-{uuid.uuid4().hex[:6]}"
    created = api.post("/auth/users", headers=bearer(tokens["access_token"]), json={
        "username": name, "password": "a long enough secret", "role": "district_officer", "district_code": "210202"})
    assert created.status_code == 201, created.text
    assert created.json()["district_code"] == "210202" and "password" not in created.json()
    listed = api.get("/auth/users", headers=bearer(tokens["access_token"]), params={"limit": 200})
    assert name in [u["username"] for u in listed.json()["items"]]
    officer = login(api, name, "a long enough secret")
    assert officer.status_code == 200 and officer.json()["role"] == "district_officer"
    # the officer may not administer users
    forbidden = api.get("/auth/users", headers=bearer(officer.json()["access_token"]))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"
    # disabling the account stops new logins and refreshes
    api.patch(f"/auth/users/{name}", headers=bearer(tokens["access_token"]), json={"active": False})
    assert login(api, name, "a long enough secret").status_code == 401
    refused = api.post("/auth/token", data={"grant_type": "refresh_token",
                                            "refresh_token": officer.json()["refresh_token"]})
    assert refused.status_code == 401


def test_accounts_must_be_bound_to_their_unit_or_district(api):
    admin = login(api, "admin", ADMIN_PASSWORD).json()["access_token"]
    response = api.post("/auth/users", headers=bearer(admin), json={
        "username": f"app-{uuid.uuid4().hex[:6]}", "password": "a long enough secret", "role": "applicant"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.unit_uscc"
    duplicate = api.post("/auth/users", headers=bearer(admin), json={
        "username": "admin", "password": "a long enough secret", "role": "admin"})
    assert duplicate.status_code == 409


def test_wrong_password_and_unknown_user_get_the_same_401(api):
    wrong = login(api, "admin", "not the password")
    unknown = login(api, "nobody-here", "whatever-whatever")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["error"] == "invalid_grant"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_refresh_grant_gives_new_tokens_and_refresh_tokens_cannot_call_the_api(api):
    tokens = login(api, "admin", ADMIN_PASSWORD).json()
    renewed = api.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["access_token"] != tokens["access_token"]
    misuse = api.get("/auth/users", headers=bearer(tokens["refresh_token"]))
    assert misuse.status_code == 401
    not_refresh = api.post("/auth/token", data={"grant_type": "refresh_token",
                                                "refresh_token": tokens["access_token"]})
    assert not_refresh.status_code == 401


def test_token_endpoint_validates_its_form(api):
    missing = api.post("/auth/token", data={"grant_type": "password", "username": "admin"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    bad_grant = api.post("/auth/token", data={"grant_type": "client_credentials"})
    assert bad_grant.status_code == 422
    assert bad_grant.headers["content-type"] == "application/problem+json"


def test_issued_tokens_are_accepted_by_the_services(api, system):
    token = login(api, "admin", ADMIN_PASSWORD).json()["access_token"]
    response = api.get("/api/v1/intake/no-such-route", headers=bearer(token))
    # through the gateway's own check and on to the service: its answer, not a 401
    assert response.status_code == 404
