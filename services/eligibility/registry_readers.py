"""A pre-check's one registry statement, read on connections kept for it: awaited on PostgreSQL, called on SQLite.

A pre-check is evaluated on the event loop (the thread pool's hand-offs cost more than the evaluation: p50 14–15 ms
against ~10 ms, measured at 16 connections). Read through the engine, its one statement held the loop for the
database's round trip as well; on PostgreSQL it is awaited on a small pool of psycopg's asynchronous connections. On
SQLite the statement is a call into the same process, made on one connection kept for the event loop's thread: taking
a connection from SQLAlchemy's pool and handing it back (with its reset) was a tenth of a pre-check's CPU.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from common.problems import ServiceUnavailable

from .dossier import Dossier
from .registries import UNIT_ROWS_PG, by_registry, sqlite_unit_rows, unit_parameters

log = logging.getLogger("fundflow.eligibility.registry")


class AsyncRegistryReader:
    """UNIT_ROWS_PG for one dossier on up to `size` kept connections in autocommit, the statement prepared by each."""

    def __init__(self, engine: Engine, size: int = 8, connect_timeout_s: int = 3) -> None:
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.sql = str(UNIT_ROWS_PG.compile(dialect=engine.dialect))
        self.connect_timeout_s = connect_timeout_s
        self.slots = asyncio.Semaphore(size)
        self.idle: list[psycopg.AsyncConnection] = []

    async def rows(self, dossier: Dossier) -> dict[str, list]:
        """The dossier's registry rows by registry, as DossierRegistry reads them; a 503 when the database is away."""
        async with self.slots:
            connection = None
            try:
                connection = self.idle.pop() if self.idle else await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=self.connect_timeout_s)
                cursor = await connection.execute(self.sql, unit_parameters(dossier), prepare=True)
                found = by_registry(await cursor.fetchall())
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                # the kept connections went the same way (a restart, an outage): all are made again when it is back
                await self._discard(connection)
                raise _unavailable(exc) from None
            self.idle.append(connection)
            return found

    async def _discard(self, connection: psycopg.AsyncConnection | None) -> None:
        """Close a failed connection and every kept one."""
        for lost in [connection, *self.idle]:
            if lost is not None:
                await lost.close()
        self.idle.clear()

    async def close(self) -> None:
        """Close the kept connections."""
        await self._discard(None)


class SqliteRegistryReader:
    """UNIT_ROWS_SQLITE for one dossier on one connection of the engine's, kept while the app runs.

    Only the event loop's thread reads on it, one statement at a time, outside any transaction (SQLite's driver
    begins none for a read), so each statement sees what is committed when it runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection = None  # SQLAlchemy's wrapper of the driver's connection, taken from the pool at first use

    async def rows(self, dossier: Dossier) -> dict[str, list]:
        """The dossier's registry rows by registry; a 503 when the database file cannot be read."""
        try:
            if self.connection is None:
                self.connection = self.engine.raw_connection()
            return by_registry(sqlite_unit_rows(self.connection.dbapi_connection, unit_parameters(dossier)))
        except (sqlite3.Error, DBAPIError) as exc:
            await self.close()  # made again at the next pre-check
            raise _unavailable(exc) from None

    async def close(self) -> None:
        """Give the kept connection back to the pool."""
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


def _unavailable(exc: Exception) -> ServiceUnavailable:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return ServiceUnavailable("The service's database is unreachable; try again shortly.")
