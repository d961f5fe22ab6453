"""The FastAPI app factory every service uses: problem answers, request ids, health and readiness, stable operation ids."""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from .audit import audit_router, install_audit
from .auth import ServiceTokens, TokenVerifier, roles_of
from .clock import Clock
from .db import check_database
from .devclock import dev_clock_router
from .express import ExpressLane, ExpressRoute
from .logging import RequestContextMiddleware, configure_logging
from .metrics import Metrics, MetricsMiddleware, metrics_router
from .problems import install_problem_handlers, problem_body, problem_response, problem_responses
from .tracing import instrument_fastapi, tracer_provider

READINESS_TIMEOUT_S = 3.0


class Health(BaseModel):
    """Liveness or readiness answer."""

    status: str = Field(description="`ok` when alive / ready")
    service: str = Field(description="Which service answered")
    checks: dict[str, str] = Field(default_factory=dict, description="Each dependency checked and its state")


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every documented APIRoute of the app, with the prefixes and dependencies of the routers that include it."""
    try:  # FastAPI keeps included routers nested since 0.16x; resolve them as its OpenAPI generator does
        from fastapi.openapi.utils import _get_api_route_for_openapi
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]
    routes = (_get_api_route_for_openapi(context) for context in iter_route_contexts(app.routes))
    return [r for r in routes if r is not None and r.include_in_schema]


def annotate_roles(app: FastAPI) -> None:
    """Write each operation's admitted roles into the OpenAPI document as `x-roles` (public: none)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for route in api_routes(app):
            roles = roles_of(route.dependant)
            for method in route.methods:
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    operation["x-roles"] = sorted(roles) if roles is not None else []
        return schema

    app.openapi = openapi


def _operation_id(route: APIRoute) -> str:
    # the route function's name is the operationId: stable, readable in generated clients
    return route.name


def health_router(service: str, checks: Callable[[Any], dict[str, Callable[[], None]]]) -> APIRouter:
    """`/healthz` (process up) and `/readyz` (each dependency reachable)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok", service=service)

    @router.get("/readyz", response_model=Health, responses=problem_responses(503))
    async def readyz(request: Request):
        """Every dependency (database, object store) is reachable."""
        results: dict[str, str] = {}
        for name, check in checks(request.app).items():
            try:
                await asyncio.wait_for(run_in_threadpool(check), READINESS_TIMEOUT_S)
                results[name] = "ok"
            except Exception as exc:  # any failure of a dependency means not ready
                results[name] = f"unavailable: {exc.__class__.__name__}"
        if all(v == "ok" for v in results.values()):
            return Health(status="ok", service=service, checks=results)
        failing = ", ".join(k for k, v in results.items() if v != "ok")
        return problem_response(problem_body(503, "service-unavailable", "Service unavailable",
                                             f"{service} is not ready: {failing} unreachable", checks=results))

    return router


# a service collects its youngest generation after this many new objects instead of 700: a batch of dossiers makes
# hundreds of thousands of short-lived dicts, lists and models, nearly all freed by reference counting, and at 700 the
# collector ran every few dossiers and promoted what was still in use into older generations, walked again and again
# (re-evaluating 10,000 applications: ~2.1 s of CPU in collections across the three services, ~0.25 s now; measured
# with gc.callbacks). The garbage a collection finds (reference cycles) waits for at most this many objects. The
# gateway relays and makes little garbage: it keeps Python's threshold (measured alternately, no better with this)
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_startup_heap() -> None:
    """Put what starting made (modules, routes, models, schemas: most of the heap) out of the collector's reach.

    Python's oldest-generation collection walks every object the process holds; a batch's answers make hundreds of
    thousands of short-lived objects, so every dozen batches a collection walked the whole startup heap again (~0.1 s
    of CPU each time in intake, a tenth of an edition's re-evaluation). Frozen objects are never collected, which is
    what they are for: they live as long as the process."""
    gc.collect()
    gc.freeze()


def create_service_app(*, service: str, description: str, settings, open_database: Callable[[Any], Any],
                       routers: list[APIRouter],
                       extra_checks: Callable[[Any], dict[str, Callable[[], None]]] | None = None,
                       on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
                       on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
                       openapi_tags: list[dict[str, Any]] | None = None,
                       audit: tuple[type, type] | None = None,
                       gauges: Callable[[FastAPI, Metrics], None] | None = None,
                       express: list[ExpressRoute] | None = None) -> FastAPI:
    """Assemble a service's app with the conventions every service shares.

    With `audit=(AuditEvent, AuditHead)` every change of the service's tables lands in its hash-chained
    audit trail (common/audit.py), readable at /audit-events.

    The lifespan opens (and migrates) the service's own database, then runs `on_startup`;
    `/readyz` checks the database plus whatever `extra_checks` names (the object store, …).

    `express` names hot read-only JSON POSTs answered in the express lane (common/express.py) unless the settings'
    `express_lanes` is off.
    """
    configure_logging(service, settings.log_level)
    tracing = tracer_provider(service, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = await run_in_threadpool(open_database, settings)
        try:
            if on_startup is not None:
                await on_startup(app)
            settle_startup_heap()
            _, older, oldest = gc.get_threshold()
            gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)
            app.state.engine.dispose()
            if tracing is not None:
                tracing.shutdown()  # sends the spans still queued

    def readiness_checks(app: FastAPI) -> dict[str, Callable[[], None]]:
        checks = {"database": lambda: check_database(app.state.engine)}
        if extra_checks is not None:
            checks.update(extra_checks(app))
        return checks

    # no /docs on the services: the gateway serves the one Swagger UI, from local files
    # tracing is common/tracing.py's; FastAPI's own telemetry, which only the global providers (never set here) would
    # turn on, asked for them on every request (~2 % of a pre-check's CPU)
    app = FastAPI(title=f"fundflow {service}", description=description, version="1.0.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, telemetry={"tracing": False, "metrics": False, "logs": False},
                  generate_unique_id_function=_operation_id, openapi_tags=openapi_tags,
                  responses=problem_responses(422, 500))
    install_problem_handlers(app)
    app.include_router(health_router(service, readiness_checks))
    app.state.metrics = Metrics(service)
    app.include_router(metrics_router(app.state.metrics))
    if gauges is not None:
        gauges(app, app.state.metrics)
    for router in routers:
        app.include_router(router)
    if express:  # inside the metrics and request-context middleware, so that the lane's answers pass both
        app.add_middleware(ExpressLane, routes=express, enabled=settings.express_lanes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.state.settings = settings
    app.state.clock = Clock(settings.fixed_now)
    if settings.fixed_now is not None:  # a replayed edition's calendar, moved by hand; production refuses it
        app.include_router(dev_clock_router(service))
    if audit is not None:
        install_audit(*audit, app.state.clock)
        app.include_router(audit_router(*audit))
        app.state.audit_head = audit[1]  # writers lock it first (common.db.get_session)
    annotate_roles(app)
    instrument_fastapi(app, tracing)
    secret = settings.jwt_secret.get_secret_value()
    app.state.verifier = TokenVerifier(secret, settings.jwt_issuer, settings.jwt_audience, settings.oidc_jwks_url)
    app.state.service_tokens = ServiceTokens(service, secret, settings.jwt_issuer, settings.jwt_audience)
    return app
