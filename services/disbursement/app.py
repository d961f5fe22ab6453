"""The disbursement service's app factory."""
from fastapi import FastAPI
from sqlmodel import Session, func, select

from common.app import create_service_app
from common.webhooks import WebhookWorker, webhook_router

from .clients import CalculationClient, EligibilityClient, IntakeClient
from .db import open_database
from .models import WEBHOOKS, AuditEvent, AuditHead, PaymentInstruction
from .routes import router
from .settings import DisbursementSettings

DESCRIPTION = ("Audit, spot checks, the allocation plan, public notice and objections, payments, reconciliation "
               "and clawbacks.")


def create_app() -> FastAPI:
    """Build the disbursement app from the environment."""
    settings = DisbursementSettings()

    async def start(app: FastAPI) -> None:
        app.state.intake = IntakeClient(settings, app.state.service_tokens.header)
        app.state.calculation = CalculationClient(settings, app.state.service_tokens.header)
        app.state.eligibility = EligibilityClient(settings, app.state.service_tokens.header)
        app.state.webhooks = WebhookWorker(app.state.engine, WEBHOOKS)
        app.state.webhooks.start()

    async def stop(app: FastAPI) -> None:
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

    return create_service_app(service="disbursement", description=DESCRIPTION, settings=settings,
                              open_database=open_database, routers=[router, webhook_router(WEBHOOKS)], on_startup=start, on_shutdown=stop,
                              audit=(AuditEvent, AuditHead), gauges=gauges)
