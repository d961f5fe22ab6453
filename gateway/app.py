"""The gateway process: a lean ASGI data path for /api/v1 beside a small FastAPI app for tokens, docs and health."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from swagger_ui_bundle import swagger_ui_path

from common.app import Health, annotate_roles, settle_startup_heap
from common.audit import audit_router, install_audit
from common.clock import Clock
from common.db import check_database
from common.auth import TokenVerifier
from common.logging import RequestContextMiddleware, configure_logging
from common.metrics import Metrics, MetricsMiddleware, metrics_router
from common.problems import ServiceUnavailable, install_problem_handlers, problem_responses
from common.tracing import instrument_fastapi, trace_asgi, tracer_provider

from .db import open_database
from .models import AuditEvent, AuditHead
from .limits import BodyLimits, RateLimiter
from .openapi import merge_openapi
from .proxy import API_PREFIX, ProxyApp
from .routes import bootstrap, router
from .settings import GatewaySettings

API_DESCRIPTION = """The public API of the Dalian 2024 service-trade innovation fund (POLICY.md).

Every service is reached under `/api/v1/<service>/…` with a bearer token from `POST /auth/token`.
Errors are `application/problem+json` (RFC 9457); money is a decimal string with two places;
every answer carries `X-Request-ID`."""


def create_pages(settings: GatewaySettings, proxy: ProxyApp, tracing: TracerProvider | None) -> FastAPI:
    """The gateway's own pages: tokens, users, health, merged OpenAPI, Swagger UI."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = await run_in_threadpool(open_database, settings)
        await run_in_threadpool(bootstrap, app.state.engine, settings)
        await proxy.start()
        app.state.http = httpx.AsyncClient(timeout=settings.connect_timeout_s + 3)
        settle_startup_heap()
        try:
            yield
        finally:
            await app.state.http.aclose()
            await proxy.stop()
            app.state.engine.dispose()
            if tracing is not None:
                tracing.shutdown()  # sends the spans still queued

    app = FastAPI(title="fundflow API", version="1.0.0", description=API_DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None, generate_unique_id_function=lambda r: r.name,
                  responses=problem_responses(422, 500))
    app.state.settings = settings
    app.state.verifier = proxy.verifier
    install_problem_handlers(app)
    app.include_router(router)
    app.state.clock = Clock(settings.fixed_now)
    install_audit(AuditEvent, AuditHead, app.state.clock)
    app.state.audit_head = AuditHead
    app.include_router(audit_router(AuditEvent, AuditHead), prefix="/auth")
    app.include_router(metrics_router(proxy.metrics))
    annotate_roles(app)
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_path), name="swagger-static")

    async def fetch_docs() -> dict[str, dict]:
        async def one(name: str, base: str) -> tuple[str, dict]:
            try:
                response = await app.state.http.get(f"{base}/openapi.json")
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"The {name} service is unavailable, so its part of the API document "
                                         "cannot be read.", service=name) from exc
            return name, response.json()

        return dict(await asyncio.gather(*(one(n, b) for n, b in settings.upstreams().items())))

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def gateway_healthz() -> Health:
        """The gateway process is up."""
        return Health(status="ok", service="gateway")

    @app.get("/readyz", response_model=Health, tags=["health"], responses=problem_responses(503))
    async def gateway_readyz() -> Health:
        """Every service answers its own readiness probe, and the gateway's user store is reachable."""
        async def probe(name: str, base: str) -> tuple[str, str]:
            try:
                response = await app.state.http.get(f"{base}/readyz")
                return name, "ok" if response.status_code == 200 else f"not ready ({response.status_code})"
            except httpx.HTTPError as exc:
                return name, f"unavailable: {exc.__class__.__name__}"

        checks = dict(await asyncio.gather(*(probe(n, b) for n, b in settings.upstreams().items())))
        try:
            await asyncio.wait_for(run_in_threadpool(check_database, app.state.engine), 3)
            checks["database"] = "ok"
        except Exception as exc:  # any failure of the user store means not ready
            checks["database"] = f"unavailable: {exc.__class__.__name__}"
        failing = [n for n, v in checks.items() if v != "ok"]
        if failing:
            raise ServiceUnavailable(f"Not ready: {', '.join(failing)}", checks=checks)
        return Health(status="ok", service="gateway", checks=checks)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> dict:
        """The merged OpenAPI document of the whole API."""
        return merge_openapi(app.openapi(), await fetch_docs())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        """Swagger UI over the merged document, served from local files."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="fundflow API",
                                   swagger_js_url="/docs/static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/static/swagger-ui.css",
                                   swagger_favicon_url="/docs/static/favicon-32x32.png")

    instrument_fastapi(app, tracing)
    return app


class Gateway:
    """Top-level ASGI app: /api/v1 goes to the proxy, everything else to the FastAPI pages."""

    def __init__(self, settings: GatewaySettings) -> None:
        verifier = TokenVerifier(settings.jwt_secret.get_secret_value(), settings.jwt_issuer, settings.jwt_audience,
                                 settings.oidc_jwks_url)
        self.proxy = ProxyApp(settings.upstreams(), settings.connect_timeout_s, settings.read_timeout_s,
                              settings.pool_size, verifier,
                              RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
                              BodyLimits(settings.max_body_bytes, settings.max_upload_bytes, settings.upload_routes),
                              Metrics("gateway"))
        tracing = tracer_provider("gateway", settings)
        self.proxy.traced = tracing is not None
        # gateway/express.py answers plain GETs without ASGI; a traced gateway keeps them in the ASGI path's spans
        self.express_proxy = None if self.proxy.traced else self.proxy
        self.data_path = trace_asgi(self.proxy, tracing)
        # the proxy keeps its own request ids, access lines and metrics; the pages use the shared middlewares
        pages = create_pages(settings, self.proxy, tracing)
        self.pages = RequestContextMiddleware(MetricsMiddleware(pages, self.proxy.metrics), service="gateway")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            await self.data_path(scope, receive, send)
        else:
            await self.pages(scope, receive, send)


def create_app():
    """Build the gateway ASGI app from the environment."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    return Gateway(settings)
