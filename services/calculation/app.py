"""The calculation service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .db import open_database
from .routes import router
from .settings import CalculationSettings

DESCRIPTION = "Computes amounts with a step-by-step trace: rates, caps, unit caps and budget scaling, exact to the fen."


def create_app() -> FastAPI:
    """Build the calculation app from the environment."""
    return create_service_app(service="calculation", description=DESCRIPTION, settings=CalculationSettings(),
                              open_database=open_database, routers=[router])
