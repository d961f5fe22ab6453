"""Prometheus metrics of a process: requests by route and status, their latency, and gauges a service adds."""
from __future__ import annotations

import gc
import time
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, GCCollector, Histogram,
                               ProcessCollector, generate_latest)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """One registry per process, so that tests starting several apps never collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("fundflow_http_requests", "HTTP requests answered", ["service", "method", "route",
                                                                                     "status"], registry=self.registry)
        self.latency = Histogram("fundflow_http_request_seconds", "Time to answer", ["service", "method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.service = service
        self._refreshers: list[Callable[[], None]] = []
        self._children: dict[tuple[str, str, int], tuple] = {}  # as bounded as the routes and statuses
        # the process's CPU, memory and garbage collections, and when the collector runs (common.app's thresholds)
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.gauge("fundflow_python_gc_threshold", "New objects (generation 0) or collections of the younger "
                   "generation (1, 2) after which the collector runs a generation", ["generation"],
                   lambda: {(str(generation),): value for generation, value in enumerate(gc.get_threshold())})

    def gauge(self, name: str, help_text: str, labels: list[str], read: Callable[[], dict[tuple, float]]) -> None:
        """A gauge read when Prometheus scrapes (outbox depth, payments by status …)."""
        gauge = Gauge(name, help_text, labels, registry=self.registry)

        def collect():
            gauge.clear()
            for label_values, value in read().items():
                gauge.labels(*label_values).set(value)

        self._refreshers.append(collect)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answered request."""
        # the labelled children kept: looking them up by label values cost ~2 µs of every request's ~3
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(self.service, method, route, str(status)),
                                              self.latency.labels(self.service, method, route))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        for refresh in self._refreshers:
            try:
                refresh()
            except Exception:  # noqa: BLE001 - a gauge whose source is away is left empty, not an error
                pass
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI: counts and times every HTTP request by its route template (not its raw path)."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status["code"], time.perf_counter() - started)


def metrics_router(metrics: Metrics) -> APIRouter:
    """GET /metrics in the Prometheus text format."""
    router = APIRouter(tags=["health"])

    @router.get("/metrics", response_class=Response, responses={200: {
        "description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
    def metrics_exposition() -> Response:
        """Request counts and latencies by route and status, and the service's own gauges."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
