"""Optional OpenTelemetry tracing: spans sent to an OTLP/HTTP collector when a process is given its URL.

Off by default (no provider, no middleware, no cost). With `<PREFIX>_OTEL_ENDPOINT` set, a process traces its
incoming requests (FastAPI, or the gateway's bare proxy), its calls to other services (httpx) and passes the W3C
`traceparent` on, so that one request through gateway, intake, eligibility and calculation is one trace.
"""
from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

# probes and scrapes every few seconds would drown the traces that matter
UNTRACED_PATHS = "healthz,readyz,metrics"
# the client's own trace headers: the gateway replaces them with its span's when it traces
TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})


def tracer_provider(service: str, settings) -> TracerProvider | None:
    """A provider exporting to the configured collector, or None when tracing is off."""
    if not settings.otel_endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"fundflow-{service}"}),
                              sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)))
    exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces", timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    return provider


def _tag_request_id(span, scope: dict) -> None:
    """Put the request id on the server span: logs and traces of one request are then found by one value."""
    if span is None or not span.is_recording():
        return
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            span.set_attribute("fundflow.request_id", value.decode("latin-1"))
            return


def instrument_fastapi(app, provider: TracerProvider | None) -> None:
    """Trace a FastAPI app's requests and the process's httpx calls (which then carry `traceparent`)."""
    if provider is None:
        return
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_PATHS,
                                       server_request_hook=_tag_request_id)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)


def trace_asgi(app, provider: TracerProvider | None):
    """The bare ASGI app wrapped in a server span per request (the gateway's data path), or unchanged."""
    if provider is None:
        return app
    return OpenTelemetryMiddleware(app, tracer_provider=provider, excluded_urls=UNTRACED_PATHS,
                                   server_request_hook=_tag_request_id)


def trace_header_lines() -> list[bytes]:
    """`traceparent` (and `tracestate`) of the current span as raw header lines, for a hand-made request."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [f"{name}: {value}".encode("latin-1") for name, value in carrier.items()]
