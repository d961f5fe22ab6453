"""The /api/v1 data path: a bare ASGI reverse proxy that streams bodies both ways over keep-alive connections."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from common.auth import WWW_AUTHENTICATE, TokenVerifier, bearer_token
from common.logging import log_access, new_request_id, request_id_var, valid_request_id
from common.metrics import Metrics
from common.problems import PROBLEM_MEDIA_TYPE, Unauthorized, problem_body
from common.tracing import TRACE_HEADERS, trace_header_lines

from .coalesce import send_with_head
from .limits import BodyLimits, BodyTooLarge, RateLimiter, retry_after_header
from .upstream import UpstreamError, UpstreamPool, UpstreamTimeout, UpstreamUnavailable, request_head

API_PREFIX = "/api/v1/"
# RFC 9110 §7.6.1: meant for one connection only, never forwarded
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"expect", b"proxy-connection",
})
log = logging.getLogger("fundflow.gateway.proxy")
access_log = logging.getLogger("fundflow.access.gateway")


# what else never goes upstream: the gateway writes its own host, request id and forwarding headers
REQUEST_DROPPED = HOP_BY_HOP | {b"host", b"x-request-id", b"x-forwarded-for"}
# what else never goes back: uvicorn adds the gateway's own date and server headers (the upstream's would make two of
# each), the length is framed anew, and the request id is the gateway's
RESPONSE_DROPPED = HOP_BY_HOP | {b"x-request-id", b"content-length", b"date", b"server"}


def _dropped(headers, always: frozenset[bytes]) -> frozenset[bytes]:
    """`always`, and the header names a Connection header declares hop-by-hop too (names are lower-cased already:
    uvicorn's for a request, the upstream connection's for an answer)."""
    drop = always
    for name, value in headers:
        if name == b"connection":
            drop = drop | {token.strip().lower() for token in value.split(b",")}
    return drop


def forward_request_head(scope_headers, request_id: str, client_host: str | None, scheme: str) -> list[bytes]:
    """Header lines for the upstream: the client's minus hop-by-hop ones, plus forwarding and the request id."""
    drop = _dropped(scope_headers, REQUEST_DROPPED)
    lines: list[bytes] = []
    forwarded_for = None
    for name, value in scope_headers:
        if name in drop:
            if name == b"host":
                lines.append(b"x-forwarded-host: " + value)
            elif name == b"x-forwarded-for":
                forwarded_for = value
            continue
        lines.append(name + b": " + value)
    lines.append(b"x-request-id: " + request_id.encode("latin-1"))
    if client_host:
        client = client_host.encode("latin-1")
        lines.append(b"x-forwarded-for: " + (forwarded_for + b", " + client if forwarded_for else client))
    lines.append(b"x-forwarded-proto: " + scheme.encode("latin-1"))
    return lines


def response_headers(upstream_headers) -> list[tuple[bytes, bytes]]:
    """Upstream response headers minus hop-by-hop ones, as raw ASGI pairs."""
    drop = _dropped(upstream_headers, RESPONSE_DROPPED)
    return [(name, value) for name, value in upstream_headers if name not in drop]


def problem_answer(status: int, slug: str, title: str, detail: str, *, instance: str, request_id: str,
                   headers: dict[str, str] | None = None, **extra) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The raw header pairs and body of a problem answer from the data path."""
    body = json.dumps(problem_body(status, slug, title, detail, instance=instance, request_id=request_id, **extra),
                      ensure_ascii=False).encode()
    extra_headers = {"Retry-After": "5"} if status == 503 else {}
    extra_headers.update(headers or {})
    pairs = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
             (b"x-request-id", request_id.encode())]
    pairs += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra_headers.items()]
    return pairs, body


def upstream_failure(exc: Exception, service: str, path: str, request_id: str) -> tuple[int, list, bytes]:
    """The problem answer for an upstream that timed out (504) or could not be reached (503): status, headers, body."""
    if isinstance(exc, UpstreamTimeout):
        return 504, *problem_answer(504, "gateway-timeout", "Gateway timeout",
                                    f"The {service} service did not answer within the gateway's timeout.",
                                    instance=path, request_id=request_id, service=service)
    log.warning("upstream %s unreachable: %s", service, exc)
    return 503, *problem_answer(503, "service-unavailable", "Service unavailable",
                                f"The {service} service is unavailable; try again shortly.",
                                instance=path, request_id=request_id, service=service)


async def send_problem(send, status: int, slug: str, title: str, detail: str, **kwargs) -> int:
    """Answer with a problem document straight on the ASGI channel; the status answered."""
    headers, body = problem_answer(status, slug, title, detail, **kwargs)
    return await _send_answer(send, status, headers, body)


async def _send_answer(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    await send_with_head(send, {"type": "http.response.start", "status": status, "headers": headers},
                         {"type": "http.response.body", "body": body})
    return status


PUBLIC_SERVICE_PATHS = frozenset({"healthz", "readyz", "openapi.json"})
# scraped by Prometheus from each process on the internal network, never offered to the public
INTERNAL_SERVICE_PATHS = frozenset({"metrics"})


class ProxyApp:
    """Routes /api/v1/<service>/<path> to <service>/<path>: authenticates, limits, streams both bodies."""

    def __init__(self, upstreams: dict[str, str], connect_timeout: float, read_timeout: float, pool_size: int,
                 verifier: TokenVerifier, limiter: RateLimiter, body_limits: BodyLimits, metrics: Metrics) -> None:
        self.pools = {name: UpstreamPool(url, pool_size, connect_timeout, read_timeout)
                      for name, url in upstreams.items()}
        self.routes = {name: f"{API_PREFIX}{name}" for name in upstreams}  # the metrics' route label of each service
        self.read_timeout = read_timeout
        self.verifier = verifier
        self.limiter = limiter
        self.body_limits = body_limits
        self.metrics = metrics
        self.traced = False  # set when the gateway traces: the request's span then goes on in traceparent

    async def start(self) -> None:
        """Nothing to open ahead: connections are made on first use and kept."""

    async def stop(self) -> None:
        """Close the kept connections."""
        for pool in self.pools.values():
            pool.close()

    async def __call__(self, scope, receive, send) -> None:
        # the data path does its own request id and access line: lighter than the pages' middleware
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not valid_request_id(request_id):
            request_id = new_request_id()
        token = request_id_var.set(request_id)
        status = 500
        try:
            status = await self._handle(scope, receive, send, request_id)
        finally:
            self.record(scope["method"], scope["path"], status, started, request_id)
            request_id_var.reset(token)

    def record(self, method: str, path: str, status: int, started: float, request_id: str) -> None:
        """The metrics and access line of one proxied request."""
        elapsed = time.perf_counter() - started
        # labelled by service, not by path: raw paths would grow the metric without bound
        route = self.routes.get(path[len(API_PREFIX):].partition("/")[0], "/api/v1/?")
        self.metrics.observe(method, route, status, elapsed)
        log_access(access_log, method, path, status, round(elapsed * 1000, 2), request_id)

    async def _handle(self, scope, receive, send, request_id: str) -> int:
        """Proxy one request; the status answered."""
        path = scope["path"]
        service, _, rest = path[len(API_PREFIX):].partition("/")
        pool = self.pools.get(service)
        if pool is None:
            return await send_problem(send, 404, "not-found", "Not found",
                                      f"No service named '{service}'; the API has {', '.join(sorted(self.pools))}.",
                                      instance=path, request_id=request_id)
        if rest in INTERNAL_SERVICE_PATHS:
            return await send_problem(send, 404, "not-found", "Not found",
                                      f"{path} is not part of the public API: the {service} service's metrics are "
                                      "scraped from the process itself, inside the deployment.",
                                      instance=path, request_id=request_id)
        headers = dict(scope["headers"])
        if rest not in PUBLIC_SERVICE_PATHS:
            refused = await self._admit(headers, send, path, request_id)
            if refused:
                return refused
        declared = headers.get(b"content-length")
        has_body = declared is not None or b"transfer-encoding" in headers
        limit = self.body_limits.limit_for(path) if has_body else 0
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await send_problem(send, 413, "payload-too-large", "Payload too large",
                                      f"This route accepts bodies of at most {limit} bytes; "
                                      f"this one declares {int(declared)}.",
                                      instance=path, request_id=request_id, limit_bytes=limit)
        # forward the path as the client encoded it: the decoded form may not even be latin-1
        raw_path = scope.get("raw_path") or path.encode("utf-8")
        target = b"/" + raw_path[len(API_PREFIX) + len(service) + 1:].lstrip(b"/") if rest else b"/"
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        client = scope.get("client")
        forward = forward_request_head(scope["headers"], request_id, client[0] if client else None,
                                       scope.get("scheme", "http"))
        if self.traced:
            forward = [line for line in forward if line.partition(b":")[0] not in TRACE_HEADERS]
            forward += trace_header_lines()
        body = _RequestBody(receive, limit, int(declared) if declared is not None and declared.isdigit() else None) \
            if has_body else None
        try:
            connection, response = await self._exchange(pool, scope["method"], target, forward, body)
        except (UpstreamError, BodyTooLarge, ConnectionAbortedError) as exc:
            return await self._answer_failure(exc, body, send, service, path, request_id)
        return await self._relay(pool, connection, response, send, service, path, request_id)

    async def _admit(self, headers: dict[bytes, bytes], send, path: str, request_id: str) -> int:
        """Authenticate the caller and apply its rate limit; answer 401/429 and return that status when refused."""
        authorization = headers.get(b"authorization")
        try:
            principal = self.verifier.verify(bearer_token(authorization.decode("latin-1") if authorization else None))
        except Unauthorized as exc:
            return await send_problem(send, 401, exc.slug, exc.title, exc.detail, instance=path,
                                      request_id=request_id, headers=WWW_AUTHENTICATE)
        wait = self.limiter.acquire(f"{principal.role}:{principal.subject}")
        if wait > 0:
            return await send_problem(send, 429, "too-many-requests", "Too many requests",
                                      f"Rate limit of {self.limiter.rate:g} requests per second exceeded; retry later.",
                                      instance=path, request_id=request_id,
                                      headers={"Retry-After": retry_after_header(wait)})
        return 0

    async def _exchange(self, pool: UpstreamPool, method: str, target: bytes, header_lines: list[bytes],
                        body: "_RequestBody | None"):
        """Send the request and wait for the response head; one retry on a kept connection found closed."""
        chunked = body is not None and body.length is None
        head = request_head(method, target, pool.host_header, header_lines, chunked)
        while True:
            connection, reused = await pool.acquire()
            response = connection.begin(head_only=method == "HEAD")
            try:
                connection.write(head)
                if body is not None:
                    await self._send_body(connection, response, body, chunked)
                await response.wait_head(self.read_timeout)
                return connection, response
            except UpstreamTimeout:
                connection.close()
                raise
            except UpstreamUnavailable:
                connection.close()
                # the upstream closed a kept-alive connection as we reused it: safe to retry while nothing was consumed
                if reused and (body is None or body.received == 0):
                    continue
                raise
            except BaseException:
                connection.close()
                raise

    async def _send_body(self, connection, response, body: "_RequestBody", chunked: bool) -> None:
        """Stream the client's body upstream, stopping as soon as the upstream has answered (a 413, a 404 …)."""
        chunks = body.chunks()
        while True:
            if response.head_ready.done():
                return await self._stop_sending(response, chunks)
            waiting = asyncio.ensure_future(anext(chunks, None))
            # a client between chunks must not keep an early answer from it
            await asyncio.wait((waiting, response.head_ready), return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting  # the generator must be at rest before it is closed
                return await self._stop_sending(response, chunks)
            chunk = waiting.result()
            if chunk is None:
                break
            connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await connection.drain(self.read_timeout)
        if chunked:
            connection.write(b"0\r\n\r\n")

    @staticmethod
    async def _stop_sending(response, chunks) -> None:
        """The upstream answered before reading everything: send no more, and do not reuse the connection."""
        response.keep_alive = False
        await chunks.aclose()

    async def _answer_failure(self, exc: Exception, body: "_RequestBody | None", send, service: str, path: str,
                              request_id: str) -> int:
        """Turn a failed upstream exchange into the right problem answer; the status answered."""
        if body is not None and body.client_gone:
            return 499  # nginx's code for a client that left: nothing is sent
        if isinstance(exc, BodyTooLarge):
            return await send_problem(send, 413, "payload-too-large", "Payload too large",
                               f"This route accepts bodies of at most {exc.limit} bytes.",
                               instance=path, request_id=request_id, limit_bytes=exc.limit)
        return await _send_answer(send, *upstream_failure(exc, service, path, request_id))

    async def _relay(self, pool: UpstreamPool, connection, response, send, service: str, path: str,
                     request_id: str) -> int:
        """Stream the upstream answer to the client; the status answered.

        The head goes out with the first piece of the body (one write instead of two): an upstream that fails
        before that piece is answered with a problem (503/504); a failure later can only cut the connection."""
        released = False
        answered = False
        try:
            headers = response_headers(response.headers)
            length = next((v for k, v in response.headers if k == b"content-length"), None)
            if length is not None:
                headers.append((b"content-length", length))
            headers.append((b"x-request-id", request_id.encode()))
            head = {"type": "http.response.start", "status": response.status, "headers": headers}
            chunk = await response.next_chunk(self.read_timeout)
            # the last piece goes with more_body=False: one message less for small answers
            last = chunk is None or response.at_end()
            answered = True
            await send_with_head(send, head, {"type": "http.response.body", "body": chunk or b"",
                                              "more_body": not last})
            while not last:
                chunk = await response.next_chunk(self.read_timeout)
                last = chunk is None or response.at_end()
                await send({"type": "http.response.body", "body": chunk or b"", "more_body": not last})
            pool.release(connection, response)
            released = True
            return response.status
        except UpstreamError as exc:
            log.warning("upstream %s broke off its answer to %s", service, path)
            if answered:
                raise
            connection.close()
            released = True
            return await self._answer_failure(exc, None, send, service, path, request_id)
        finally:
            if not released:
                connection.close()


class _RequestBody:
    """The client's body, streamed chunk by chunk, counted against the route's limit."""

    def __init__(self, receive, limit: int, length: int | None) -> None:
        self.receive = receive
        self.limit = limit
        self.length = length  # the declared Content-Length; None when the client sends it chunked
        self.received = 0
        self.too_large = False
        self.client_gone = False

    async def chunks(self):
        """Yield chunks as they arrive, without holding them."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                raise ConnectionAbortedError("client went away while sending its body")
            chunk = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                if self.received > self.limit:
                    self.too_large = True
                    raise BodyTooLarge(self.limit)
                yield chunk
            if not message.get("more_body", False):
                return
