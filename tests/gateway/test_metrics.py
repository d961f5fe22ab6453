"""Prometheus metrics on every process: requests by route template and status, and the services' own gauges."""
from __future__ import annotations

import httpx

from ..system import SERVICES


def test_every_process_exposes_metrics(api, system):
    system.client_for("city_officer").get("/api/v1/intake/applications")
    for service in SERVICES:
        response = api.get(f"/api/v1/{service}/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        assert "fundflow_http_requests_total" in response.text
    intake = api.get("/api/v1/intake/metrics").text
    assert 'route="/applications"' in intake and "fundflow_outbox_messages" in intake
    assert "fundflow_payment_instructions" in api.get("/api/v1/disbursement/metrics").text
    gateway = httpx.get(f"{system.gateway_url}/metrics").text
    assert 'route="/api/v1/intake"' in gateway and "fundflow_http_request_seconds_bucket" in gateway
