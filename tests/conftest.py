"""Fixtures: the whole system running over HTTP, once per database backend."""
from __future__ import annotations

import os

import pytest

from .system import System, new_workdir, remove_workdir

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
