"""Engines, sessions and migrations for one service's own database (no tables here: each service owns its own)."""
from __future__ import annotations

import fcntl
import time
import zlib
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic_core import from_json, to_json

from alembic import command
from alembic.config import Config
from datetime import timezone

from sqlalchemy import (ARRAY, DateTime, MetaData, String, TypeDecorator, any_, bindparam, create_engine, event,
                        text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.orm import registry
from sqlmodel import Session, select

# Named constraints so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def table_registry() -> registry:
    """A registry with a metadata of its own, so that one process may hold several services' tables."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class random_uuid(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """A new random UUID (version 4) as text, made by the database: the ids of the rows an INSERT … SELECT writes."""

    type = String()
    inherit_cache = True
    name = "random_uuid"


@compiles(random_uuid, "postgresql")
def _random_uuid_postgresql(element, compiler, **kw) -> str:
    return "gen_random_uuid()::text"  # built in since PostgreSQL 13


@compiles(random_uuid, "sqlite")
def _random_uuid_sqlite(element, compiler, **kw) -> str:
    # SQLite has no UUID function: the same 8-4-4-4-12 hex text, version nibble 4, variant 8–b, from randomblob
    return ("(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
            "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || "
            "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))")


def is_sqlite(url_or_engine) -> bool:
    """Whether a URL or engine is SQLite."""
    url = str(getattr(url_or_engine, "url", url_or_engine))
    return url.startswith("sqlite")


# the values JSON holds as they are (no conversion to text): the leaves most recorded or shown values end in
JSON_SCALARS = frozenset({str, int, bool, float, type(None)})


class JsonText(str):
    """A value's JSON text, serialised by its writer (who needs the text itself): a JSON column stores it as it is."""


def json_text(value) -> str:
    """JSON columns written by pydantic-core's serializer: 2–3 times as fast as json.dumps on a kilobyte-sized answer
    (an evaluation's checks, a computation's trace), which the batches of an edition re-evaluated write by thousands."""
    if isinstance(value, JsonText):
        return value
    return to_json(value).decode()


def one_of(column, name: str, postgresql: bool):
    """The column among the values of a list parameter `name`: one array parameter on PostgreSQL, an expanding IN list
    elsewhere (SQLite)."""
    # an IN list renders a placeholder per value: the statement's text changes with the count, and the driver parses
    # it again each time (psycopg: ~7 % of intake's CPU with its batches' 400 ids); an array keeps one text, prepared
    if postgresql:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


# the engines' JSON columns, both ways
JSON_CODEC = {"json_serializer": json_text, "json_deserializer": from_json}


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for the service's database; SQLite gets WAL, foreign keys and a busy timeout."""
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **JSON_CODEC)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised through every SQLite test
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
        **JSON_CODEC,
    )
    ping_when_idle(engine)
    compress_with_lz4(engine)
    return engine


# a no-op on a server without lz4 (built without it, or before PostgreSQL 14): no row of pg_settings matches
LZ4_WHERE_BUILT = ("SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings "
                   "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")


def compress_with_lz4(engine: Engine) -> None:
    """Each connection compresses the large values it writes with lz4 rather than pglz, where the server has it.

    Kilobyte-sized JSON (an application's answers, an evaluation's checks, a computation's trace) is compressed as it
    is written: 10,000 applications' answers updated cost PostgreSQL 1.2 s of CPU with pglz and 0.63 s with lz4,
    about a fifth of its share of an edition's re-evaluation. Values already stored stay as they are, readable both
    ways."""
    @event.listens_for(engine, "connect")
    def _lz4(dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute(LZ4_WHERE_BUILT)
        dbapi_conn.commit()  # a session setting made in a transaction rolled back would be undone


PING_AFTER_IDLE_S = 1.0


def ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has rested over a second: under load every request reuses
    a connection it knows to be alive, without the round trip pool_pre_ping makes each time (a pre-check's
    statement is one round trip: the ping was a second one)."""
    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_conn, record) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_conn, record, _proxy) -> None:
        checked_in = record.info.pop("checked_in", None)
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the connection is gone
            # the pool discards this connection and checks out (or opens) another, as pool_pre_ping does
            raise DisconnectionError("the pooled connection did not answer") from exc


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """A session on the app's engine that commits when the route succeeds and rolls back otherwise."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        head = getattr(request.app.state, "audit_head", None)
        if head is not None and request.method not in SAFE_METHODS and not is_sqlite(session.get_bind()):
            lock_audit_head_first(session, head)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_LOCK_FIRST = "lock_audit_head_first"


def lock_audit_head_first(session: Session, head) -> None:
    """Make the session's next transaction lock the audit chain's head first, as a writing request's does."""
    session.info[_LOCK_FIRST] = head


@event.listens_for(Session, "after_begin")
def _lock_audit_head_first(session: Session, _transaction, connection) -> None:
    """A writing request's transaction first locks the audit chain's head.

    Every writer then takes its locks in the same order (head, then rows), so row locks taken early (SELECT … FOR
    UPDATE) can never deadlock against a flush that appends to the chain. The lock is taken when the transaction
    begins, in the thread that uses the session (the endpoint's), not in the dependency's: a dependency that waited
    for the lock in the thread pool would hold a thread the lock holder's endpoint may need.
    """
    head = session.info.get(_LOCK_FIRST)
    if head is not None:
        connection.execute(select(head.__table__.c.id).where(head.__table__.c.id == 1).with_for_update())


# scope="function": the commit happens before the answer is sent, so a failed commit is the client's error answer
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def check_database(engine: Engine) -> None:
    """Readiness probe: one round trip to the database."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def migrations_config(script_location: str, version_table: str) -> Config:
    """The Alembic configuration of a service's migrations (their folder and their own version table)."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.attributes["version_table"] = version_table
    return cfg


def upgrade_database(engine: Engine, script_location: str, version_table: str) -> None:
    """Apply the service's Alembic migrations up to head; on PostgreSQL, one replica at a time."""
    cfg = migrations_config(script_location, version_table)
    with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several replicas may start together: the advisory lock serialises their upgrades
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(version_table.encode())})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _sqlite_file_lock(engine: Engine):
    """Serialise migrations of several processes (uvicorn --workers) on one SQLite file."""
    database = engine.url.database if is_sqlite(engine) else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_migration_env(target_metadata: MetaData) -> None:
    """Body of every service's Alembic env.py: migrate on the connection handed over by upgrade_database."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    version_table = config.attributes.get("version_table", "alembic_version")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        engine = make_engine(url)
        with engine.begin() as conn:
            _configure_and_run(context, conn, target_metadata, version_table)
        return
    _configure_and_run(context, connection, target_metadata, version_table)


def _configure_and_run(context, connection, target_metadata, version_table) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def open_service_database(settings, migrations_dir: Path, version_table: str) -> Engine:
    """Create the service's engine and, unless told not to, migrate it to head."""
    engine = make_engine(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    if settings.migrate_on_start:
        upgrade_database(engine, str(migrations_dir), version_table)
    return engine
