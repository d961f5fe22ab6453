"""The gateway's express lane (gateway/express.py) answers exactly as its ASGI path does, and keeps HTTP's rules."""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import socket
import threading
import time
import uuid

import httpx
import pytest

from bench.harness import rss_bytes
from common.auth import mint_token

from ..system import Process, free_port
from .harness import start_echo

SECRET = uuid.uuid4().hex + uuid.uuid4().hex


class RawUpstream:
    """A bare TCP upstream answering as old or broken servers do, which uvicorn never does: one answer per connection.

    /close-delimited: no Content-Length, the body ends when the connection closes; /cut: a Content-Length of 1,000
    and only 10 bytes before the close."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                if b" /cut " in request.split(b"\r\n", 1)[0]:
                    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n"
                                       + b"0123456789")
                else:
                    connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n")
                    for n in range(50):
                        connection.sendall(b"piece-%d;" % n * 100)

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    """An echo upstream (as `calculation`) and a raw one (as `eligibility`) behind two gateways: one as deployed
    (express lane), one with uvicorn's plain protocol (the ASGI path)."""
    workdir = tmp_path_factory.mktemp("express")
    echo, env = start_echo(workdir, SECRET)
    raw = RawUpstream()
    started = {}
    for name, http in (("express", None), ("asgi", "httptools")):
        process = Process(f"gateway-{name}", "gateway.app:create_app", free_port(),
                          {**env, "GATEWAY_DATA_DIR": str(workdir / name), "GATEWAY_ELIGIBILITY_URL": raw.url},
                          workdir / f"{name}.log", http=http)
        process.start()
        started[name] = process
    yield started
    for process in (*started.values(), echo):
        process.stop()
    raw.close()


def bearer(subject: str = "express") -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(SECRET, subject, "city_officer", issuer="fundflow",
                                                    audience="fundflow-api")}


def comparable(response: httpx.Response) -> tuple:
    """Status, headers and body, minus what differs by nature between two gateways (date, own address)."""
    ignored = {"date"}
    body = response.content
    if response.headers.get("content-type") == "application/json" and b'"headers"' in body:
        payload = response.json()
        payload["headers"].pop("x-forwarded-host")  # each gateway's own host:port
        payload.pop("chunks", None)  # how a streamed body is cut into reads depends on timing
        body = payload
        ignored.add("content-length")  # the echo's length follows those two; its content is compared instead
    headers = sorted((k, v) for k, v in response.headers.multi_items() if k not in ignored)
    return response.status_code, headers, body


@pytest.mark.parametrize("path, with_token", [
    ("/api/v1/calculation/echo?a=1&b=%C3%A9", True),   # echoed: what the upstream was sent
    ("/api/v1/calculation/stream?n=4", True),           # a chunked answer with hop-by-hop headers to drop
    ("/api/v1/calculation/close", True),                 # the upstream closes its connection
    ("/api/v1/calculation/nowhere", True),               # the upstream's own 404
    ("/api/v1/calculation/healthz", False),              # public: no token needed
    ("/api/v1/calculation/echo", False),                 # no token: 401 (the ASGI path answers it)
    ("/api/v1/calculation/metrics", True),               # internal: 404
    ("/api/v1/nosuch/thing", True),                      # unknown service: 404
    ("/api/v1/calculation/%65cho", True),                # percent-encoded path
    ("/api/v1/eligibility/close-delimited", True),       # a body that ends with the upstream's connection
    ("/api/v1/intake/applications", True),               # a dead upstream: 503
    ("/api/v1/calculation/stall", True),                 # a silent upstream: 504
])
@pytest.mark.parametrize("forwarded", [{}, {"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https"}])
def test_both_lanes_give_the_same_answer(gateways, path, with_token, forwarded):
    # forwarded: as a proxy in front would send them, from an address uvicorn trusts by default (127.0.0.1)
    headers = {"X-Request-ID": f"parity-{uuid.uuid4().hex[:12]}", "X-Custom": "dropped", "Connection": "x-custom",
               **forwarded, **(bearer() if with_token else {})}
    answers = {name: httpx.get(process.url + path, headers=headers, timeout=10) for name, process in gateways.items()}
    assert comparable(answers["express"]) == comparable(answers["asgi"])
    assert answers["express"].headers["x-request-id"] == headers["X-Request-ID"]
    for single in ("date", "server", "x-request-id"):  # the upstream's date and server are not passed on as well
        assert len(answers["express"].headers.get_list(single)) == 1, answers["express"].headers
    if answers["express"].status_code >= 400 and path != "/api/v1/calculation/nowhere":
        assert answers["express"].headers["content-type"] == "application/problem+json"


SMALL = json.dumps({"dossier": "预审", "lines": list(range(200))}).encode()


@pytest.mark.parametrize("method, path, body, extra", [
    ("POST", "/api/v1/calculation/echo?a=1", SMALL, {}),                      # a small body: the express lane
    ("PUT", "/api/v1/calculation/echo", SMALL, {}),
    ("PATCH", "/api/v1/calculation/echo", SMALL, {}),
    ("DELETE", "/api/v1/calculation/echo", b"", {}),                          # no body at all
    ("POST", "/api/v1/calculation/echo", b"", {}),                            # an empty declared body
    ("POST", "/api/v1/calculation/echo", b"x" * (64 * 1024), {}),             # the largest the lane gathers
    ("POST", "/api/v1/calculation/echo", b"x" * (64 * 1024 + 1), {}),         # larger: streamed by the ASGI path
    ("POST", "/api/v1/calculation/echo", b"x" * (1024 * 1024 + 1), {}),       # over the route's limit: 413
    ("POST", "/api/v1/calculation/echo", tuple(b"%d;" % n for n in range(300)), {}),  # chunked: the ASGI path
    ("POST", "/api/v1/calculation/echo", SMALL, {"Expect": "100-continue"}),  # the ASGI path
    ("POST", "/api/v1/calculation/refuse", SMALL, {}),                         # the upstream's refusal, unread
    ("POST", "/api/v1/intake/applications", SMALL, {}),                        # a dead upstream: 503
    ("POST", "/api/v1/calculation/stall", SMALL, {}),                          # a silent upstream: 504
    ("POST", "/api/v1/calculation/echo", SMALL, {"Authorization": ""}),        # no token: 401
])
def test_both_lanes_give_the_same_answer_to_a_request_with_a_body(gateways, method, path, body, extra):
    headers = {"X-Request-ID": f"parity-{uuid.uuid4().hex[:12]}", "Content-Type": "application/json", **bearer(),
               **extra}
    headers = {k: v for k, v in headers.items() if v}
    answers = {}
    for name, process in gateways.items():
        content = body if isinstance(body, bytes) else iter(body)  # pieces of unknown length: sent chunked
        answers[name] = httpx.request(method, process.url + path, content=content, headers=headers, timeout=10)
    assert comparable(answers["express"]) == comparable(answers["asgi"])
    if path.startswith("/api/v1/calculation/echo") and answers["express"].status_code == 200:
        echoed, sent = answers["express"].json(), body if isinstance(body, bytes) else b"".join(body)
        assert echoed["method"] == method and echoed["headers"]["x-request-id"] == headers["X-Request-ID"]
        assert (echoed["size"], echoed["sha256"]) == (len(sent), hashlib.sha256(sent).hexdigest())


def test_a_body_delimited_by_the_upstreams_close_arrives_whole_and_chunked(gateways):
    response = httpx.get(gateways["express"].url + "/api/v1/eligibility/close-delimited", headers=bearer())
    assert response.status_code == 200 and response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"".join(b"piece-%d;" % n * 100 for n in range(50))


def test_an_answer_the_upstream_cuts_short_is_cut_short_on_both_lanes(gateways):
    for process in gateways.values():
        with pytest.raises(httpx.RemoteProtocolError):  # a head and 10 of 1,000 bytes, then the close
            httpx.get(process.url + "/api/v1/eligibility/cut", headers=bearer(), timeout=10)
        assert httpx.get(process.url + "/api/v1/calculation/echo", headers=bearer()).status_code == 200


def raw_exchange(url: str, payload: bytes, *, until: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes to the gateway and read until `until` has been seen (or the server closes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        while until not in received:
            piece = sock.recv(65536)
            if not piece:
                break
            received += piece
        return received


def get_request(path: str, *extra: str) -> bytes:
    token = bearer()["Authorization"]
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: gateway", f"Authorization: {token}", *extra, "", ""]).encode()


def test_pipelined_requests_are_answered_in_order(gateways):
    url = gateways["express"].url
    payload = b"".join(get_request(f"/api/v1/calculation/echo?n={n}") for n in range(3))
    received = raw_exchange(url, payload, until=b'"query": "n=2"')
    answers = received.split(b"HTTP/1.1 200 OK")
    assert len(answers) == 4, received
    for n, answer in enumerate(answers[1:]):
        assert f'"query": "n={n}"'.encode() in answer


def test_a_client_asking_to_close_gets_its_answer_then_the_close(gateways):
    url = gateways["express"].url
    received = raw_exchange(url, get_request("/api/v1/calculation/echo", "Connection: close"), until=b"\0")
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"\r\nconnection: close" in head.lower()
    assert b'"method": "GET"' in body  # the whole answer came before the server closed


def test_http_10_is_served(gateways):
    url = gateways["express"].url
    token = bearer()["Authorization"]
    received = raw_exchange(url, f"GET /api/v1/calculation/echo HTTP/1.0\r\nAuthorization: {token}\r\n\r\n".encode(),
                            until=b"\0")
    assert received.startswith(b"HTTP/1.1 200") and b'"method": "GET"' in received


def test_a_connection_idle_for_the_keep_alive_timeout_is_closed_and_one_in_use_is_not(gateways):
    """uvicorn closes a connection idle for 5 s (timeout_keep_alive); the express lane keeps that timeout with one timer
    per connection that re-arms itself, not a timer per request."""
    host, port = gateways["express"].url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        for n in range(2):  # the second comes after 2 s: the connection must still be open then
            if n:
                time.sleep(2)
            sock.sendall(get_request(f"/api/v1/calculation/echo?n={n}"))
            received = b""
            while f'"query": "n={n}"'.encode() not in received:
                piece = sock.recv(65536)
                assert piece, f"the gateway closed the connection before answering request {n}"
                received += piece
        answered = time.monotonic()
        assert sock.recv(65536) == b""  # blocks until the gateway closes the idle connection
        idle = time.monotonic() - answered
    assert 4.5 < idle < 8, idle  # 5 s after the last answer, not 5 s after the first


def test_a_client_that_leaves_is_logged_and_the_gateway_goes_on(gateways):
    gateway = gateways["express"]
    host, port = gateway.url.removeprefix("http://").split(":")
    request_id = f"leaver-{uuid.uuid4().hex[:12]}"
    with socket.create_connection((host, int(port))) as sock:
        # behind a trusted proxy too: only the express lane logs a client that left as 499
        sock.sendall(get_request("/api/v1/calculation/stall", f"X-Request-ID: {request_id}",
                                 "X-Forwarded-For: 203.0.113.7"))
        time.sleep(0.2)  # the request is upstream, waiting
    deadline = time.monotonic() + 5
    while request_id not in gateway.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in gateway.logs().splitlines() if request_id in line)
    entry = json.loads(line)
    assert entry["status"] == 499 and entry["route"] == "/api/v1/calculation/stall"
    assert httpx.get(gateway.url + "/api/v1/calculation/echo", headers=bearer()).status_code == 200


def test_many_concurrent_gets_share_the_kept_connections(gateways):
    url = gateways["express"].url + "/api/v1/calculation/echo?i="
    with httpx.Client(headers=bearer(), timeout=10) as api, concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: api.get(url + str(i)), range(200)))
    assert [a.json()["query"] for a in answers] == [f"i={i}" for i in range(200)]


def test_a_client_reading_slowly_holds_back_the_upstream_not_the_gateways_memory(gateways):
    gateway = gateways["express"]
    host, port = gateway.url.removeprefix("http://").split(":")
    before = rss_bytes(gateway.proc.pid)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(get_request("/api/v1/calculation/big?mib=96"))
        time.sleep(2)  # longer than the read timeout (1 s): a client that does not read is not a silent upstream
        grown = rss_bytes(gateway.proc.pid) - before
        received = bytearray()
        while not received.endswith(b"\r\n0\r\n\r\n"):
            piece = sock.recv(1 << 20)
            assert piece, "the gateway closed the connection before the end of the answer"
            received += piece
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    assert body.count(b"x") == 96 * 1024 * 1024
    assert grown < 32 * 1024 * 1024, f"the gateway held {grown / 2**20:.0f} MiB for a client that did not read"
