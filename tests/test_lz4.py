"""Large values written through a service's engine on PostgreSQL are compressed with lz4 where the server has it
(common.db.compress_with_lz4), and a connection to a server without it works all the same."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from common.db import LZ4_WHERE_BUILT, make_engine

from .system import PG_ADMIN_DSN


def _server_has_lz4() -> bool:
    with psycopg.connect(PG_ADMIN_DSN) as conn:
        return conn.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                            "WHERE name = 'default_toast_compression'").fetchone() == (True,)


def test_a_large_json_value_is_stored_compressed_with_lz4():
    if not _server_has_lz4():  # the guarantee is conditional on the server: this machine's is built with lz4
        pytest.fail("the test server has no lz4: the engine's setting cannot be shown here")
    engine = make_engine(PG_ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://"))
    table = f"lz4_{uuid.uuid4().hex[:8]}"
    answer = {"checks": [{"clause": f"G{i}", "outcome": "pass", "note": "材料齐全，符合条件"} for i in range(200)]}
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE TEMP TABLE {table} (answer json)"))
            connection.execute(sa.text(f"INSERT INTO {table} VALUES (:answer)"), {"answer": json.dumps(answer)})
            compression = connection.execute(sa.text(f"SELECT pg_column_compression(answer) FROM {table}")).scalar()
            setting = connection.execute(sa.text("SHOW default_toast_compression")).scalar()
    finally:
        engine.dispose()
    assert (setting, compression) == ("lz4", "lz4")


def test_the_setting_is_made_only_where_the_server_has_lz4():
    # what a server without lz4 answers the statement: no row, nothing set, no error
    with psycopg.connect(PG_ADMIN_DSN) as conn:
        rows = conn.execute(LZ4_WHERE_BUILT.replace("'lz4' = ANY(enumvals)", "'no-such-method' = ANY(enumvals)"))
        assert rows.fetchall() == []
        assert conn.execute("SELECT setting = reset_val FROM pg_settings "
                            "WHERE name = 'default_toast_compression'").fetchone() == (True,)
