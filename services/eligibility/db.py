"""The eligibility service's own database: engine creation and migrations."""
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
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


EvaluationSessionDep = Annotated[Session, Depends(get_evaluation_session, scope="function")]
