"""The database-made UUIDs of rows written by INSERT … SELECT (re-evaluation messages): version 4, text as Python's."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, select

from common.db import random_uuid

from .system import PG_ADMIN_DSN


@pytest.mark.parametrize("url", ["sqlite://", PG_ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://")],
                         ids=["sqlite", "postgresql"])
def test_each_is_a_distinct_version_4_uuid_written_as_python_writes_it(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            made = [connection.execute(select(random_uuid())).scalar_one() for _ in range(2000)]
    finally:
        engine.dispose()
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case hex, 8-4-4-4-12
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
