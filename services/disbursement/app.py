"""The disbursement service's app factory."""

from fastapi import FastAPI
from sqlmodel import Session, func, select

from common.app import create_service_app
from common.webhooks import WebhookWorker, webhook_router

from .clients import CalculationClient, EligibilityClient, IntakeClient
from .db import open_database
from .jobs import JOBS
from .models import WEBHOOKS, AuditEvent, AuditHead, PaymentInstruction
from .routes import router
from .settings import DisbursementSettings

DESCRIPTION = ("The city's half of the programme (N4.2–N4.5, N3.2–N3.3): projects taken over from the districts, "
               "third-party audit and expert review, spot checks, versioned allocation plans, public notice and "
               "objections, payments in two legs created exactly once, bank statements, reconciliation, clawbacks.")


def _require_idempotency_key_in_openapi(app: FastAPI) -> None:
    """Document the Idempotency-Key header as required (the routes answer 400 without it, as the IETF draft says)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            for item in schema["paths"].values():
                for operation in item.values():
                    for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                            parameter["required"] = True
        return app.openapi_schema

    app.openapi = openapi


def create_app() -> FastAPI:
    """Build the disbursement app from the environment."""
    settings = DisbursementSettings()

    async def start(app: FastAPI) -> None:
        app.state.intake = IntakeClient(settings, app.state.service_tokens.header)
        app.state.calculation = CalculationClient(settings, app.state.service_tokens.header)
        app.state.eligibility = EligibilityClient(settings, app.state.service_tokens.header)
        app.state.webhooks = WebhookWorker(app.state.engine, WEBHOOKS)
        app.state.webhooks.start()
        app.state.jobs = JOBS.worker(app.state.engine, app.state.clock, settings)
        app.state.jobs.start()

    async def stop(app: FastAPI) -> None:
        await app.state.jobs.stop()
        await app.state.webhooks.stop()
        app.state.intake.close()
        app.state.calculation.close()
        app.state.eligibility.close()

    def gauges(app: FastAPI, metrics) -> None:
        def payments_by_status() -> dict[tuple, float]:
            with Session(app.state.engine) as session:
                rows = session.exec(select(PaymentInstruction.leg, PaymentInstruction.status, func.count())
                                    .group_by(PaymentInstruction.leg, PaymentInstruction.status)).all()
            return {(leg, status): count for leg, status, count in rows}

        metrics.gauge("fundflow_payment_instructions", "Payment instructions by leg and status", ["leg", "status"],
                      payments_by_status)

    app = create_service_app(service="disbursement", description=DESCRIPTION, settings=settings,
                             open_database=open_database, routers=[router, webhook_router(WEBHOOKS), JOBS.router()],
                             on_startup=start, on_shutdown=stop, audit=(AuditEvent, AuditHead), gauges=gauges)

    _require_idempotency_key_in_openapi(app)

    return app
