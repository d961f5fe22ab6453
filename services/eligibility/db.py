"""The eligibility service's own database: engine creation and migrations."""
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from common.db import open_service_database

from .settings import EligibilitySettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_eligibility"


def open_database(settings: EligibilitySettings) -> Engine:
    """The service's engine, migrated to head unless migrate_on_start is off."""
    return open_service_database(settings, MIGRATIONS_DIR, VERSION_TABLE)


def migrate() -> None:
    """Apply the migrations (the `migrate` command and the deployment's migration job)."""
    settings = EligibilitySettings(migrate_on_start=True)
    open_database(settings).dispose()


def get_evaluation_session(request: Request) -> Iterator[Session]:
    """A session for evaluations: committed or rolled back like common.db.get_session, not queued on the audit head."""
    # evaluations write only unaudited tables (evaluations, claims): nothing of theirs joins the audit chain
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextlib.contextmanager
def read_only_connection(request: Request) -> Iterator[Connection]:
    """A connection from the app's pool for work that only reads (a pre-check on SQLite; on PostgreSQL a pre-check
    awaits its statement in async_registry.py): no ORM session (opening and closing one was a seventh of a
    pre-check's CPU) and no transaction, as SQLite's driver begins none for a read. Not switched to AUTOCOMMIT:
    switching back ran a PRAGMA at every return to the pool (a pre-check took 669 µs of CPU with it, 484 µs without)."""
    with request.app.state.engine.connect() as connection:
        yield connection


EvaluationSessionDep = Annotated[Session, Depends(get_evaluation_session, scope="function")]
