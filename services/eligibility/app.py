"""The eligibility service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .registry_readers import AsyncRegistryReader, SqliteRegistryReader
from .db import open_database
from .imports import JOBS
from .models import AuditEvent, AuditHead
from .routes import EXPRESS, router
from .settings import EligibilitySettings

DESCRIPTION = ("Evaluates an application's dossier against every rule of the edition (POLICY.md) and keeps the "
               "registries those rules need.")


def create_app() -> FastAPI:
    """Build the eligibility app from the environment."""
    settings = EligibilitySettings()

    async def start(app: FastAPI) -> None:
        app.state.jobs = JOBS.worker(app.state.engine, app.state.clock, settings)
        app.state.jobs.start()
        app.state.registry_reader = (AsyncRegistryReader(app.state.engine)
                                     if app.state.engine.dialect.name == "postgresql"
                                     else SqliteRegistryReader(app.state.engine))

    async def stop(app: FastAPI) -> None:
        await app.state.jobs.stop()
        await app.state.registry_reader.close()

    return create_service_app(service="eligibility", description=DESCRIPTION, settings=settings,
                              open_database=open_database, routers=[router, JOBS.router()], on_startup=start,
                              on_shutdown=stop, audit=(AuditEvent, AuditHead), express=EXPRESS)
