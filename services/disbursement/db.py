"""The disbursement service's own database: engine creation, migrations, and the session of writing requests."""
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from common.db import SessionDep, is_sqlite, open_service_database

from .models import AuditHead
from .settings import DisbursementSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_disbursement"


def open_database(settings: DisbursementSettings) -> Engine:
    """The service's engine, migrated to head unless migrate_on_start is off."""
    return open_service_database(settings, MIGRATIONS_DIR, VERSION_TABLE)


def migrate() -> None:
    """Apply the migrations (the `migrate` command and the deployment's migration job)."""
    settings = DisbursementSettings(migrate_on_start=True)
    open_database(settings).dispose()


def write_session(session: SessionDep) -> Session:
    """The request's session, holding the database's write lock before it reads anything."""
    # On PostgreSQL the shared session dependency already locks the audit chain's head first. SQLite would let a
    # request read before taking its write lock and then act on a stale view (two statements settling the same
    # payment differently); a no-op write to the head takes the lock at once, so writers queue there too.
    if is_sqlite(session.get_bind()):
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    return session


WriteSessionDep = Annotated[Session, Depends(write_session)]
