"""The intake service's app factory."""
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, func, select

from common.app import create_service_app
from common.webhooks import WebhookWorker, webhook_router

from .clients import PolicyClients
from .db import open_database
from .models import WEBHOOKS, AuditEvent, AuditHead, OutboxMessage
from .outbox import OutboxWorker
from . import reevaluations
from .jobs import JOBS
from .routes import router
from .settings import IntakeSettings
from .storage import make_store

DESCRIPTION = "Applicant units, applications and their forms, evidence documents, submission and district review."


def create_app() -> FastAPI:
    """Build the intake app from the environment."""
    settings = IntakeSettings()

    async def start(app: FastAPI) -> None:
        app.state.store = make_store(settings)
        try:
            await run_in_threadpool(app.state.store.check)
        except Exception:  # the store may come later: /readyz says so until it does
            pass
        app.state.policy = PolicyClients(settings, app.state.service_tokens.header)
        app.state.outbox = OutboxWorker(app.state.engine, app.state.policy, app.state.clock, settings.outbox_poll_s,
                                        settings.outbox_max_backoff_s, settings.outbox_batch, settings.outbox_lanes)
        app.state.outbox.start()
        app.state.webhooks = WebhookWorker(app.state.engine, WEBHOOKS)
        app.state.webhooks.start()
        app.state.jobs = JOBS.worker(app.state.engine, app.state.clock, settings)
        app.state.jobs.start()

    async def stop(app: FastAPI) -> None:
        await app.state.jobs.stop()
        await app.state.webhooks.stop()
        await app.state.outbox.stop()
        await app.state.policy.aclose()

    def gauges(app: FastAPI, metrics) -> None:
        def outbox_depth() -> dict[tuple, float]:
            with Session(app.state.engine) as session:
                rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
            return {(status,): count for status, count in rows}

        metrics.gauge("fundflow_outbox_messages", "Evaluation requests in the outbox, by status", ["status"],
                      outbox_depth)

    return create_service_app(service="intake", description=DESCRIPTION, settings=settings,
                              open_database=open_database,
                              routers=[router, reevaluations.router, webhook_router(WEBHOOKS), JOBS.router()],
                              on_startup=start, on_shutdown=stop,
                              extra_checks=lambda app: {"object_store": app.state.store.check},
                              audit=(AuditEvent, AuditHead), gauges=gauges)
