"""Fixtures of the disbursement tests."""
from __future__ import annotations

import pytest

from .flow import AfterNotice


@pytest.fixture(scope="module")
def after_notice(system):
    """The system seen after the notice period: a second disbursement process and gateway, clock on 2025-12-18."""
    later = AfterNotice(system)
    yield later
    later.stop()
