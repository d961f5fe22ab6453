"""Fixtures: the whole system running over HTTP, once per database backend."""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from .system import PG_ADMIN_DSN, System, new_workdir, remove_workdir

# Every HTTP test runs on the embedded default (SQLite + local files) and on PostgreSQL + an S3 server.
BACKENDS = [b.strip() for b in os.environ.get("FUNDFLOW_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


@pytest.fixture(scope="session", params=BACKENDS)
def system(request) -> System:
    """The five processes started on loopback ports, torn down at the end."""
    workdir = new_workdir(request.param)
    sys_ = System(backend=request.param, workdir=workdir)
    try:
        sys_.start()
    except Exception:
        sys_.stop()
        raise
    yield sys_
    sys_.stop()
    if not request.session.testsfailed:
        remove_workdir(workdir)


@pytest.fixture
def api(system):
    """An HTTP client at the gateway."""
    return system.client


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """The URL of a new, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'schema.db'}"
        return
    name = f"fft_schema_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
