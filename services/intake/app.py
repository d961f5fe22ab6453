"""The intake service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .db import open_database
from .routes import router
from .settings import IntakeSettings

DESCRIPTION = "Applicant units, applications and their forms, evidence documents, submission and district review."


def create_app() -> FastAPI:
    """Build the intake app from the environment."""
    return create_service_app(service="intake", description=DESCRIPTION, settings=IntakeSettings(),
                              open_database=open_database, routers=[router])
