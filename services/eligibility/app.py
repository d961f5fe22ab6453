"""The eligibility service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .db import open_database
from .models import AuditEvent, AuditHead
from .routes import router
from .settings import EligibilitySettings

DESCRIPTION = ("Evaluates an application's dossier against every rule of the edition (POLICY.md) and keeps the "
               "registries those rules need.")


def create_app() -> FastAPI:
    """Build the eligibility app from the environment."""
    return create_service_app(service="eligibility", description=DESCRIPTION, settings=EligibilitySettings(),
                              open_database=open_database, routers=[router], audit=(AuditEvent, AuditHead))
