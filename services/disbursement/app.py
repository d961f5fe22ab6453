"""The disbursement service's app factory."""
from fastapi import FastAPI

from common.app import create_service_app

from .db import open_database
from .routes import router
from .settings import DisbursementSettings

DESCRIPTION = "Audit, spot checks, the allocation plan, public notice and objections, payments, reconciliation and clawbacks."


def create_app() -> FastAPI:
    """Build the disbursement app from the environment."""
    return create_service_app(service="disbursement", description=DESCRIPTION, settings=DisbursementSettings(),
                              open_database=open_database, routers=[router])
