"""Prometheus metrics on every process: requests by route template and status, and the services' own gauges."""
from __future__ import annotations

import httpx

from ..system import SERVICES


def scrape(system, service: str) -> str:
    """What Prometheus reads from a service's process, inside the deployment."""
    response = httpx.get(f"{system.url(service)}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


def test_every_process_exposes_metrics_inside_and_none_to_the_public(api, system):
    system.client_for("city_officer").get("/api/v1/intake/applications")
    for service in SERVICES:
        assert "fundflow_http_requests_total" in scrape(system, service)
        public = system.client_for("admin").get(f"/api/v1/{service}/metrics")
        assert public.status_code == 404 and "scraped" in public.json()["detail"]
        assert api.get(f"/api/v1/{service}/metrics").status_code == 404
    intake = scrape(system, "intake")
    assert 'route="/applications"' in intake and "fundflow_outbox_messages" in intake
    assert "fundflow_payment_instructions" in scrape(system, "disbursement")
    gateway = httpx.get(f"{system.gateway_url}/metrics").text
    assert 'route="/api/v1/intake"' in gateway and "fundflow_http_request_seconds_bucket" in gateway


def test_every_process_shows_its_cpu_memory_and_garbage_collector(system):
    from common.app import YOUNG_GENERATION_THRESHOLD

    scraped = {service: scrape(system, service) for service in SERVICES}
    scraped["gateway"] = httpx.get(f"{system.gateway_url}/metrics").text
    for process, text in scraped.items():
        assert _sample(text, "process_cpu_seconds_total") > 0 and _sample(text, "process_resident_memory_bytes") > 0
        assert "python_gc_collections_total" in text
        # a service collects its young generation after 50,000 new objects; the gateway at Python's 700 (common.app)
        young = YOUNG_GENERATION_THRESHOLD if process in SERVICES else 700
        assert _sample(text, "fundflow_python_gc_threshold", generation="0") == young, process


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_counters_count_each_request_and_gauges_read_the_database(api, system):
    from ..test_slice import submitted_platform_application, wait_for

    reader = system.client_for("city_officer")
    route = {"service": "eligibility", "method": "GET", "route": "/editions/{edition}/parameters", "status": "200"}
    before = _sample(scrape(system, "eligibility"), "fundflow_http_requests_total", **route)
    for _ in range(3):
        assert reader.get("/api/v1/eligibility/editions/2024/parameters").status_code == 200
    after = scrape(system, "eligibility")
    assert _sample(after, "fundflow_http_requests_total", **route) == before + 3
    assert _sample(after, "fundflow_http_request_seconds_count", service="eligibility", method="GET",
                   route="/editions/{edition}/parameters") >= 3
    client, _, application = submitted_platform_application(system)
    wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
             lambda a: a["evaluation_status"] == "done")
    outbox = scrape(system, "intake")
    # the gauge is read from the outbox table when scraped: this submission's message at least
    assert _sample(outbox, "fundflow_outbox_messages", status="done") >= 1


def test_request_counts_read_as_prometheus_clients_own_counter_and_histogram():
    """common.metrics counts in plain numbers on the hot path; a scrape must read what Counter and Histogram gave."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from common.metrics import LATENCY_BUCKETS, Metrics

    reference = CollectorRegistry()
    counter = Counter("fundflow_http_requests", "HTTP requests answered", ["service", "method", "route", "status"],
                      registry=reference)
    histogram = Histogram("fundflow_http_request_seconds", "Time to answer", ["service", "method", "route"],
                          buckets=LATENCY_BUCKETS, registry=reference)
    metrics = Metrics("gateway")
    # on a bucket's bound, between bounds, past the last one, and a second route and status
    observations = [("GET", "/api/v1/intake", 200, seconds) for seconds in (0.0004, 0.001, 0.0011, 0.25, 7.5, 12.0)]
    observations += [("POST", "/api/v1/eligibility", 422, 0.0025), ("GET", "/api/v1/intake", 404, 0.05)]
    for method, route, status, seconds in observations:
        counter.labels("gateway", method, route, str(status)).inc()
        histogram.labels("gateway", method, route).observe(seconds)
        metrics.observe(method, route, status, seconds)

    def samples(text: str) -> list:
        from prometheus_client.parser import text_string_to_metric_families

        return sorted((s.name, sorted(s.labels.items()), s.value) for family in text_string_to_metric_families(text)
                      for s in family.samples if s.name.startswith("fundflow_http") and not s.name.endswith("_created"))

    expected = samples(generate_latest(reference).decode())
    assert len(expected) == 3 + 2 * (len(LATENCY_BUCKETS) + 3)  # 3 counts; per route: buckets, +Inf, count, sum
    assert samples(metrics.exposition().decode()) == expected
