"""OpenTelemetry tracing by setting: a request through the gateway to a service is one trace, exported by OTLP/HTTP
to a collector (here a receiver on loopback that decodes what it is sent), continuing the caller's own trace."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Collector:
    """An OTLP/HTTP trace receiver on a loopback port: every span it is sent, with its process's service name."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next(a.value.string_value for a in resource_spans.resource.attributes
                                   if a.key == "service.name")
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            collector.spans.append({
                                "service": service, "name": span.name, "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(), "parent_id": span.parent_span_id.hex(),
                                "attributes": {a.key: a.value.string_value or a.value.int_value
                                               for a in span.attributes}})
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_one_request_through_the_gateway_is_one_trace_exported_to_the_collector(system):
    collector = Collector()
    service = system.spawn("eligibility", ELIGIBILITY_OTEL_ENDPOINT=collector.url)
    gateway = system.spawn("gateway", GATEWAY_OTEL_ENDPOINT=collector.url, GATEWAY_ELIGIBILITY_URL=service.url)
    untraced_gateway = system.spawn("gateway", GATEWAY_ELIGIBILITY_URL=service.url)
    token = system.token("admin")
    try:
        with httpx.Client(base_url=gateway.url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as api:
            answer = api.get("/api/v1/eligibility/editions", headers={
                "X-Request-ID": "trace-me-1", "traceparent": f"00-{CLIENT_TRACE_ID}-00f067aa0ba902b7-01"})
            assert answer.status_code == 200, answer.text
            assert api.get("/api/v1/eligibility/healthz").status_code == 200  # probes are not traced
        with httpx.Client(base_url=untraced_gateway.url, timeout=30.0) as plain:
            # tracing off: the caller's traceparent passes through untouched, and nothing is exported for it
            assert plain.get("/api/v1/eligibility/editions", headers={
                "Authorization": f"Bearer {token}", "X-Request-ID": "untraced-gateway-1",
                "traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}).status_code == 200
    finally:
        for process in (gateway, untraced_gateway, service):
            process.stop()  # a graceful stop sends the spans still queued
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not {"fundflow-gateway", "fundflow-eligibility"} <= \
            {s["service"] for s in collector.spans}:
        time.sleep(0.2)
    collector.close()

    servers = {s["service"]: s for s in collector.spans if s["attributes"].get("fundflow.request_id") == "trace-me-1"
               and s["parent_id"] != "" and s["name"].startswith("GET")}
    gateway_span, service_span = servers["fundflow-gateway"], servers["fundflow-eligibility"]
    # the caller's trace goes on through the gateway into the service, each span the child of the one before
    assert gateway_span["trace_id"] == service_span["trace_id"] == CLIENT_TRACE_ID
    assert gateway_span["parent_id"] == "00f067aa0ba902b7"
    gateway_ids = {s["span_id"] for s in collector.spans if s["service"] == "fundflow-gateway"}
    assert service_span["parent_id"] in gateway_ids
    assert "/editions" in service_span["name"]
    assert not any("healthz" in s["name"] for s in collector.spans)
    # the untraced gateway's request reached the traced service with the caller's trace id, unchanged
    assert {s["trace_id"] for s in collector.spans if s["service"] == "fundflow-eligibility"
            and s["attributes"].get("fundflow.request_id") == "untraced-gateway-1"} == {"1" * 32}
