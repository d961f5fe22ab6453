"""A pre-check's registry rows, read on connections kept for it: awaited on PostgreSQL, called on SQLite.

A pre-check is evaluated on the event loop (the thread pool's hand-offs cost more than the evaluation: p50 14–15 ms
against ~10 ms, measured at 16 connections). Read through the engine, its statement held the loop for the database's
round trip as well; on PostgreSQL it is awaited on a small pool of psycopg's asynchronous connections, one statement
for the pre-checks that wait for a connection together. On SQLite the statement is a call into the same process,
made on one connection kept for the event loop's thread: taking a connection from SQLAlchemy's pool and handing it
back (with its reset) was a tenth of a pre-check's CPU.
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
from .registries import (BATCH_ROWS_PG, BatchRegistry, batch_parameters, by_registry, invoice_keys_of,
                         sqlite_unit_rows, unit_parameters)

log = logging.getLogger("fundflow.eligibility.registry")


class AsyncRegistryReader:
    """The registry rows of pre-checks on up to `size` kept connections in autocommit, the pre-checks waiting for a
    connection read together.

    A pre-check takes a connection and reads, in one statement, its own rows and those of every pre-check waiting
    behind it (the batch statement, BATCH_ROWS_PG, which BatchRegistry deals out to each dossier exactly as its own
    statement would read them); a pre-check whose rows were read meanwhile finds them when its turn comes. Under load
    the database answers one statement for several pre-checks: its CPU and the round trips per pre-check fall, and an
    idle service reads one dossier at a time as before."""

    def __init__(self, engine: Engine, size: int = 2, connect_timeout_s: int = 3) -> None:
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.sql = str(BATCH_ROWS_PG.compile(dialect=engine.dialect))
        self.connect_timeout_s = connect_timeout_s
        self.slots = asyncio.Semaphore(size)
        self.idle: list[psycopg.AsyncConnection] = []
        self.waiting: list[tuple[Dossier, asyncio.Future]] = []  # pre-checks whose rows nobody has read yet

    async def rows(self, dossier: Dossier) -> dict[str, list]:
        """The dossier's registry rows by registry, as DossierRegistry reads them; a 503 when the database is away."""
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append((dossier, answer))
        async with self.slots:
            if not answer.done():  # nobody read it while this one waited: read it, and all that wait behind it
                batch, self.waiting = self.waiting, []
                try:
                    await self._read(batch)
                finally:  # cancelled on the way: the others' rows are read by the next to take a connection
                    self.waiting[:0] = [(d, f) for d, f in batch if not f.done()]
        return await answer

    async def _read(self, batch: list[tuple[Dossier, asyncio.Future]]) -> None:
        """Read the batch's rows in one statement and give each pre-check its own, or each the 503."""
        dossiers = [dossier for dossier, _ in batch]
        connection = None
        try:
            connection = self.idle.pop() if self.idle else await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=self.connect_timeout_s)
            cursor = await connection.execute(self.sql, batch_parameters(dossiers), prepare=True)
            registry = BatchRegistry(await cursor.fetchall())
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            # the kept connections went the same way (a restart, an outage): all are made again when it is back
            await self._discard(connection)
            failure = _unavailable(exc)
            for _, answer in batch:
                if not answer.done():  # its pre-check may have been cancelled meanwhile
                    answer.set_exception(failure)
            return
        self.idle.append(connection)
        for dossier, answer in batch:
            if not answer.done():
                answer.set_result(registry.rows_for(dossier, invoice_keys_of(dossier)))

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
