"""The calculation service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .clients import IntakeClient
from .db import open_database
from .routes import EXPRESS, router
from .settings import CalculationSettings

DESCRIPTION = "Computes amounts with a step-by-step trace: rates, caps, unit caps and budget scaling, exact to the fen."


def create_app() -> FastAPI:
    """Build the calculation app from the environment."""
    settings = CalculationSettings()

    async def start(app: FastAPI) -> None:
        app.state.intake = IntakeClient(settings)

    async def stop(app: FastAPI) -> None:
        app.state.intake.close()

    return create_service_app(service="calculation", description=DESCRIPTION, settings=settings,
                              open_database=open_database, routers=[router], on_startup=start, on_shutdown=stop,
                              express=EXPRESS)
