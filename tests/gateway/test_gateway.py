"""The gateway: routing, request ids, problem answers for dead services, the merged API document."""
from __future__ import annotations

import json
import time

import httpx

from ..system import SERVICES


def test_every_service_is_reached_through_the_gateway(api):
    for service in SERVICES:
        response = api.get(f"/api/v1/{service}/healthz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "service": service, "checks": {}}


def test_readiness_checks_every_service_and_its_database(api):
    response = api.get("/readyz")
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"]) == {*SERVICES, "database"}
    intake = api.get("/api/v1/intake/readyz").json()
    assert intake["checks"]["database"] == "ok"


def test_request_id_is_kept_and_forwarded(api, system):
    response = api.get("/api/v1/calculation/healthz", headers={"X-Request-ID": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    # the service saw the same id: it logged it with its access line (logs are flushed every 200 ms)
    deadline = time.monotonic() + 3
    while not any(json.loads(line).get("request_id") == "trace-me-123"
                  for line in system.processes["calculation"].logs().splitlines() if "trace-me-123" in line):
        assert time.monotonic() < deadline, "the service never logged the forwarded request id"
        time.sleep(0.05)


def test_the_gateway_logs_each_proxied_request_with_its_id(api, system):
    response = api.get("/api/v1/calculation/healthz", headers={"X-Request-ID": "gateway-line-456"})
    assert response.status_code == 200
    deadline = time.monotonic() + 3
    while True:  # logs are flushed every 200 ms
        lines = [json.loads(line) for line in system.processes["gateway"].logs().splitlines()
                 if "gateway-line-456" in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(lines) == 1, "the gateway wrote no access line with the request id"
    line = lines[0]
    assert {k: line[k] for k in ("level", "service", "logger", "msg", "method", "route", "status")} == {
        "level": "info", "service": "gateway", "logger": "fundflow.access.gateway", "msg": "request",
        "method": "GET", "route": "/api/v1/calculation/healthz", "status": 200}
    assert line["latency_ms"] >= 0 and line["ts"].endswith("+00:00")


def test_a_request_id_is_made_when_the_client_sends_none(api):
    response = api.get("/api/v1/intake/healthz")
    assert len(response.headers["x-request-id"]) == 32


def test_unknown_service_is_a_problem_answer(api):
    response = api.get("/api/v1/payroll/things")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-found" and "payroll" in body["detail"]


def test_unknown_path_inside_a_service_is_a_problem_answer(system):
    response = system.client_for("admin").get("/api/v1/intake/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_a_dead_service_is_a_503_naming_it(api, system):
    disbursement = system.processes["disbursement"]
    disbursement.kill()
    try:
        response = api.get("/api/v1/disbursement/healthz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["service"] == "disbursement"
        assert "disbursement" in body["detail"]
        assert response.headers["retry-after"]
        ready = api.get("/readyz")
        assert ready.status_code == 503 and "disbursement" in ready.json()["detail"]
    finally:
        disbursement.start()
    assert api.get("/api/v1/disbursement/healthz").status_code == 200


def test_merged_openapi_document_prefixes_and_tags_every_operation(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    for service in SERVICES:
        operation = doc["paths"][f"/api/v1/{service}/healthz"]["get"]
        assert operation["tags"][0] == service
        assert operation["operationId"] == f"{service}_healthz"
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert "ProblemDetails" in doc["components"]["schemas"]


def test_swagger_ui_is_served_from_local_files(api):
    page = api.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    script = api.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_services_answer_directly_too(system):
    response = httpx.get(f"{system.url('eligibility')}/healthz")
    assert response.status_code == 200
