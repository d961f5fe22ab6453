"""Dependency faults are answered, not crashed on: a database outage is a 503 and the process recovers by itself."""
from __future__ import annotations

import os
import time
import uuid

import httpx
import psycopg
import pytest

from common.auth import mint_token

from .factories import new_uscc, platform_construction_content
from .system import PG_ADMIN_DSN, ROOT, Process, free_port

PASSWORD = "outage-test-password"


@pytest.fixture
def gateway_on_its_own_postgres(tmp_path):
    """A gateway whose user store is a PostgreSQL database this test can take away."""
    name = f"fft_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    gateway = Process("gateway", "gateway.app:create_app", free_port(), {
        **os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_DATABASE_URL": url,
        "GATEWAY_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD, "GATEWAY_JWT_SECRET": uuid.uuid4().hex * 2,
    }, tmp_path / "gateway.log")
    gateway.start()
    yield gateway, name
    gateway.stop()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _set_reachable(name: str, reachable: bool) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if reachable else "false"}')
        if not reachable:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def test_a_database_outage_is_a_503_and_the_process_recovers(gateway_on_its_own_postgres):
    gateway, name = gateway_on_its_own_postgres
    form = {"grant_type": "password", "username": "admin", "password": PASSWORD}
    assert httpx.post(f"{gateway.url}/auth/token", data=form).status_code == 200
    _set_reachable(name, False)
    try:
        during = httpx.post(f"{gateway.url}/auth/token", data=form, timeout=20)
        assert during.status_code == 503
        assert during.headers["content-type"] == "application/problem+json"
        assert "database" in during.json()["detail"]
        assert "Traceback" not in during.text
        ready = httpx.get(f"{gateway.url}/readyz", timeout=20)
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")
    finally:
        _set_reachable(name, True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if httpx.post(f"{gateway.url}/auth/token", data=form).status_code == 200:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the gateway did not serve again once its database was back")
    assert gateway.proc.poll() is None, "the process must survive the outage"


def test_a_pre_check_during_a_database_outage_is_a_503_and_then_served_again(tmp_path):
    # on PostgreSQL a pre-check awaits its registry statement on connections of its own (eligibility/registry_readers.py)
    name = f"fft_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    secret = uuid.uuid4().hex * 2
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    eligibility = Process("eligibility", "services.eligibility.app:create_app", free_port(), {
        **os.environ, "PYTHONPATH": str(ROOT), "ELIGIBILITY_DATABASE_URL": url, "ELIGIBILITY_JWT_SECRET": secret,
        "ELIGIBILITY_DATA_DIR": str(tmp_path / "eligibility")}, tmp_path / "eligibility.log")
    eligibility.start()
    token = mint_token(secret, "outage-test", "city_officer", issuer="fundflow", audience="fundflow-api")
    dossier = {"edition": "2024", "project_type": "platform_construction", "applicant": {"uscc": new_uscc()},
               "content": platform_construction_content()}

    def pre_check() -> httpx.Response:
        return httpx.post(f"{eligibility.url}/evaluations", json=dossier, timeout=20,
                          headers={"Authorization": f"Bearer {token}"})

    try:
        assert pre_check().status_code == 200
        _set_reachable(name, False)
        try:
            during = pre_check()
            assert during.status_code == 503, during.text
            assert during.headers["content-type"] == "application/problem+json"
            assert "database" in during.json()["detail"] and "Traceback" not in during.text
        finally:
            _set_reachable(name, True)
        deadline = time.monotonic() + 15
        while pre_check().status_code != 200:
            assert time.monotonic() < deadline, "eligibility did not serve pre-checks again once its database was back"
            time.sleep(0.3)
        assert eligibility.proc.poll() is None, "the process must survive the outage"
    finally:
        eligibility.stop()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
