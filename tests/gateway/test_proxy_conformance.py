"""The gateway's data path against a bare upstream: streaming both ways, 100-continue, keep-alive, timeouts, limits."""
from __future__ import annotations

import hashlib
import socket
import time
import uuid

import httpx
import pytest

from bench.harness import rss_bytes
from common.auth import mint_token

from ..system import Process, free_port
from .harness import start_echo

SECRET = uuid.uuid4().hex + uuid.uuid4().hex
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """An echo upstream reached as `calculation`, a dead port as `intake`, behind a gateway with small limits."""
    workdir = tmp_path_factory.mktemp("conformance")
    echo, env = start_echo(workdir, SECRET)
    gateway = Process("gateway", "gateway.app:create_app", free_port(), {
        **env, "GATEWAY_DATA_DIR": str(workdir / "gw"), "GATEWAY_RATE_LIMIT_PER_S": "5",
        "GATEWAY_RATE_LIMIT_BURST": "20", "GATEWAY_MAX_BODY_BYTES": str(10 * MiB),
        "GATEWAY_MAX_UPLOAD_BYTES": str(256 * MiB), "GATEWAY_UPLOAD_ROUTES": '["^/api/v1/calculation/echo$"]',
    }, workdir / "gateway.log")
    gateway.start()
    yield gateway, echo
    gateway.stop()
    echo.stop()


def client(gateway: Process, subject: str | None = None) -> httpx.Client:
    token = mint_token(SECRET, subject or uuid.uuid4().hex, "city_officer", issuer="fundflow",
                       audience="fundflow-api")
    return httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def chunks(total: int, size: int = MiB):
    """A body generated piece by piece, never whole in memory."""
    piece = bytes(range(256)) * (size // 256)
    sent = 0
    while sent < total:
        part = piece[: min(size, total - sent)]
        sent += len(part)
        yield part


def digest_of(total: int, size: int = MiB) -> str:
    h = hashlib.sha256()
    for part in chunks(total, size):
        h.update(part)
    return h.hexdigest()


def test_chunked_request_body_streams_to_the_upstream(proxied):
    gateway, _ = proxied
    with client(gateway) as c:
        response = c.post("/api/v1/calculation/echo?x=1", content=chunks(3 * MiB, 64 * 1024))
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["size"] == 3 * MiB and seen["sha256"] == digest_of(3 * MiB, 64 * 1024)
    assert seen["query"] == "x=1"
    assert seen["headers"].get("transfer-encoding") == "chunked"


def test_a_200_mb_upload_streams_through_without_growing_the_gateway(proxied):
    gateway, _ = proxied
    before = rss_bytes(gateway.proc.pid)
    total = 200 * MiB
    with client(gateway) as c:
        response = c.post("/api/v1/calculation/echo", content=chunks(total),
                          headers={"Content-Length": str(total), "Content-Type": "application/pdf"})
    growth = rss_bytes(gateway.proc.pid) - before
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["size"] == total and seen["sha256"] == digest_of(total)
    assert seen["headers"]["content-length"] == str(total)
    assert growth < 64 * MiB, f"gateway RSS grew by {growth / MiB:.1f} MiB"


def test_chunked_response_streams_back_without_hop_by_hop_headers(proxied):
    gateway, _ = proxied
    with client(gateway) as c, c.stream("GET", "/api/v1/calculation/stream?n=30") as response:
        pieces = list(response.iter_bytes())
        assert response.status_code == 200
        assert response.headers["x-upstream"] == "echo"
        for hop in ("keep-alive", "x-secret-hop"):
            assert hop not in response.headers
    assert b"".join(pieces) == b"".join(f"chunk-{i};".encode() for i in range(30))


def test_hop_by_hop_request_headers_are_dropped_and_the_request_id_kept(proxied):
    gateway, _ = proxied
    with client(gateway) as c:
        response = c.get("/api/v1/calculation/echo", headers={
            "Connection": "keep-alive, X-Custom-Hop", "X-Custom-Hop": "secret", "TE": "trailers",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==", "X-Request-ID": "conformance-rid-1", "X-Kept": "yes"})
    seen = response.json()["headers"]
    assert response.headers["x-request-id"] == "conformance-rid-1"
    assert seen["x-request-id"] == "conformance-rid-1"
    assert seen["x-kept"] == "yes" and seen["x-forwarded-proto"] == "http"
    for hop in ("x-custom-hop", "te", "proxy-authorization"):
        assert hop not in seen


def test_expect_100_continue_is_honoured(proxied):
    gateway, _ = proxied
    token = mint_token(SECRET, "expect-test", "city_officer", issuer="fundflow", audience="fundflow-api")
    body = b"x" * 5000
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall((f"POST /api/v1/calculation/echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode())
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(body)
        answer = b""
        while b'"chunks"' not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 200") and b'"size": 5000' in answer


def test_an_answer_before_the_whole_body_reaches_a_client_still_sending(proxied):
    gateway, _ = proxied
    token = mint_token(SECRET, "early-test", "city_officer", issuer="fundflow", audience="fundflow-api")
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        # 8 MiB announced, 64 KiB sent, then the client waits: the upstream's refusal must not wait for the rest
        sock.sendall((f"POST /api/v1/calculation/refuse HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Length: {8 * MiB}\r\n\r\n").encode() + b"x" * 65536)
        answer = b""
        while b"refused unread" not in answer:
            data = sock.recv(65536)  # times out (5 s) if the gateway holds the answer back
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413") and b"x-request-id" in answer.lower(), answer
    with client(gateway) as api:  # and the gateway goes on serving
        assert api.post("/api/v1/calculation/echo", content=b"after").json()["size"] == 5


def test_an_upstream_that_closes_its_connections_is_handled(proxied):
    gateway, _ = proxied
    with client(gateway) as c:
        for _ in range(6):
            response = c.get("/api/v1/calculation/close")
            assert response.status_code == 200 and response.json() == {"closed": True}


def test_a_silent_upstream_is_a_504(proxied):
    gateway, _ = proxied
    started = time.monotonic()
    with client(gateway) as c:
        response = c.get("/api/v1/calculation/stall")
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "calculation"
    assert time.monotonic() - started < 10


def test_an_upstream_silent_after_its_head_is_a_504_too(proxied):
    # the gateway sends an answer's head with the first piece of its body: before that piece nothing was sent to the
    # client, which gets a problem rather than a 200 cut short
    gateway, _ = proxied
    with client(gateway) as c:
        response = c.get("/api/v1/calculation/stall-body")
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "calculation"
    with client(gateway) as c:  # and the next request is served
        assert c.post("/api/v1/calculation/echo", content=b"next").json()["size"] == 4


def test_a_dead_upstream_is_a_503_even_with_a_body(proxied):
    gateway, _ = proxied
    with client(gateway) as c:
        response = c.post("/api/v1/intake/applicants", json={"uscc": "x"})
    assert response.status_code == 503
    assert response.json()["service"] == "intake"


def test_no_token_is_a_401_before_any_upstream_is_asked(proxied):
    gateway, _ = proxied
    response = httpx.get(f"{gateway.url}/api/v1/calculation/echo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    bad = httpx.get(f"{gateway.url}/api/v1/calculation/echo", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401 and "not valid" in bad.json()["detail"]
    expired = mint_token(SECRET, "late", "admin", issuer="fundflow", audience="fundflow-api", ttl_s=-10)
    late = httpx.get(f"{gateway.url}/api/v1/calculation/echo", headers={"Authorization": f"Bearer {expired}"})
    assert late.status_code == 401 and "expired" in late.json()["detail"]
    forged = mint_token("another-secret-of-at-least-32-bytes", "x", "admin", issuer="fundflow", audience="fundflow-api")
    assert httpx.get(f"{gateway.url}/api/v1/calculation/echo",
                     headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_health_of_a_service_needs_no_token(proxied):
    gateway, _ = proxied
    assert httpx.get(f"{gateway.url}/api/v1/calculation/healthz").status_code == 200


def test_bodies_over_the_route_limit_are_413(proxied):
    gateway, _ = proxied
    with client(gateway) as c:
        declared = c.post("/api/v1/calculation/sink", content=b"x" * (10 * MiB + 1))
        assert declared.status_code == 413 and declared.json()["limit_bytes"] == 10 * MiB
        streamed = c.post("/api/v1/calculation/sink", content=chunks(11 * MiB))
        assert streamed.status_code == 413
        assert streamed.headers["content-type"] == "application/problem+json"
        within = c.post("/api/v1/calculation/sink", content=chunks(9 * MiB))
        assert within.status_code == 200 and within.json()["size"] == 9 * MiB


def test_rate_limit_per_token_answers_429_with_retry_after(proxied):
    gateway, _ = proxied
    statuses = []
    with client(gateway, subject="rate-limited") as c:
        for _ in range(30):
            statuses.append(c.get("/api/v1/calculation/echo"))
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "30 requests at once should exceed a burst of 20"
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].headers["content-type"] == "application/problem+json"
    with client(gateway, subject="someone-else") as other:
        assert other.get("/api/v1/calculation/echo").status_code == 200
