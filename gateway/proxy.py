"""The /api/v1 data path: a bare ASGI reverse proxy that streams bodies both ways over keep-alive connections."""
from __future__ import annotations

import asyncio
import json
import logging

from common.auth import WWW_AUTHENTICATE, TokenVerifier, bearer_token
from common.problems import PROBLEM_MEDIA_TYPE, Unauthorized, problem_body

from .limits import BodyLimits, BodyTooLarge, RateLimiter, retry_after_header
from .upstream import UpstreamError, UpstreamPool, UpstreamTimeout, UpstreamUnavailable, request_head

API_PREFIX = "/api/v1/"
# RFC 9110 §7.6.1: meant for one connection only, never forwarded
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"expect", b"proxy-connection",
})
log = logging.getLogger("fundflow.gateway.proxy")


def _connection_listed(headers) -> set[bytes]:
    """Header names the Connection header declares hop-by-hop too."""
    listed: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            listed.update(token.strip().lower() for token in value.split(b","))
    return listed


def forward_request_headers(scope_headers, request_id: str, client_host: str | None, scheme: str) -> dict[str, str]:
    """Client headers minus hop-by-hop ones, plus forwarding information and the request id."""
    drop = HOP_BY_HOP | _connection_listed(scope_headers) | {b"host", b"x-request-id"}
    out: dict[str, str] = {}
    forwarded_host = None
    for name, value in scope_headers:
        lname = name.lower()
        if lname == b"host":
            forwarded_host = value.decode("latin-1")
        if lname in drop:
            continue
        key = lname.decode("latin-1")
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    out["x-request-id"] = request_id
    if client_host:
        prior = out.get("x-forwarded-for")
        out["x-forwarded-for"] = f"{prior}, {client_host}" if prior else client_host
    out["x-forwarded-proto"] = scheme
    if forwarded_host:
        out["x-forwarded-host"] = forwarded_host
    return out


def response_headers(upstream_headers) -> list[tuple[bytes, bytes]]:
    """Upstream response headers minus hop-by-hop ones, as raw ASGI pairs."""
    raw = [(k.lower(), v) for k, v in upstream_headers]
    drop = HOP_BY_HOP | _connection_listed(raw) | {b"x-request-id", b"content-length"}
    return [(k, v) for k, v in raw if k not in drop]


async def send_problem(send, status: int, slug: str, title: str, detail: str, *, instance: str,
                       request_id: str, headers: dict[str, str] | None = None, **extra) -> None:
    """Answer with a problem document straight on the ASGI channel."""
    body = json.dumps(problem_body(status, slug, title, detail, instance=instance, request_id=request_id, **extra),
                      ensure_ascii=False).encode()
    extra_headers = {"Retry-After": "5"} if status == 503 else {}
    extra_headers.update(headers or {})
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
               (b"x-request-id", request_id.encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra_headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


PUBLIC_SERVICE_PATHS = frozenset({"healthz", "readyz", "openapi.json"})


class ProxyApp:
    """Routes /api/v1/<service>/<path> to <service>/<path>: authenticates, limits, streams both bodies."""

    def __init__(self, upstreams: dict[str, str], connect_timeout: float, read_timeout: float, pool_size: int,
                 verifier: TokenVerifier, limiter: RateLimiter, body_limits: BodyLimits) -> None:
        self.pools = {name: UpstreamPool(url, pool_size, connect_timeout, read_timeout)
                      for name, url in upstreams.items()}
        self.read_timeout = read_timeout
        self.verifier = verifier
        self.limiter = limiter
        self.body_limits = body_limits

    async def start(self) -> None:
        """Nothing to open ahead: connections are made on first use and kept."""

    async def stop(self) -> None:
        """Close the kept connections."""
        for pool in self.pools.values():
            pool.close()

    async def __call__(self, scope, receive, send) -> None:
        path = scope["path"]
        request_id = scope.get("state", {}).get("request_id", "")
        service, _, rest = path[len(API_PREFIX):].partition("/")
        pool = self.pools.get(service)
        if pool is None:
            await send_problem(send, 404, "not-found", "Not found",
                               f"No service named '{service}'; the API has {', '.join(sorted(self.pools))}.",
                               instance=path, request_id=request_id)
            return
        headers = dict((k.lower(), v) for k, v in scope["headers"])
        if rest not in PUBLIC_SERVICE_PATHS and not await self._admit(headers, send, path, request_id):
            return
        limit = self.body_limits.limit_for(path)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_problem(send, 413, "payload-too-large", "Payload too large",
                               f"This route accepts bodies of at most {limit} bytes; this one declares {int(declared)}.",
                               instance=path, request_id=request_id, limit_bytes=limit)
            return
        target = "/" + rest
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        client = scope.get("client")
        forward = forward_request_headers(scope["headers"], request_id, client[0] if client else None,
                                          scope.get("scheme", "http"))
        has_body = declared is not None or b"transfer-encoding" in headers
        body = _RequestBody(receive, limit) if has_body else None
        try:
            connection, response = await self._exchange(pool, scope["method"], target, forward, body)
        except (UpstreamError, BodyTooLarge, ConnectionAbortedError) as exc:
            await self._answer_failure(exc, body, send, service, path, request_id)
            return
        await self._relay(pool, connection, response, send, service, path, request_id)

    async def _admit(self, headers: dict[bytes, bytes], send, path: str, request_id: str) -> bool:
        """Authenticate the caller and apply its rate limit; answer 401/429 and return False when refused."""
        authorization = headers.get(b"authorization")
        try:
            principal = self.verifier.verify(bearer_token(authorization.decode("latin-1") if authorization else None))
        except Unauthorized as exc:
            await send_problem(send, 401, exc.slug, exc.title, exc.detail, instance=path, request_id=request_id,
                               headers=WWW_AUTHENTICATE)
            return False
        wait = self.limiter.acquire(f"{principal.role}:{principal.subject}")
        if wait > 0:
            await send_problem(send, 429, "too-many-requests", "Too many requests",
                               f"Rate limit of {self.limiter.rate:g} requests per second exceeded; retry later.",
                               instance=path, request_id=request_id, headers={"Retry-After": retry_after_header(wait)})
            return False
        return True

    async def _exchange(self, pool: UpstreamPool, method: str, target: str, headers: dict[str, str],
                        body: "_RequestBody | None"):
        """Send the request and wait for the response head; one retry on a kept connection found closed."""
        chunked = body is not None and "content-length" not in headers
        head = request_head(method, target, pool.host_header, headers, chunked)
        while True:
            connection, reused = await pool.acquire()
            response = connection.begin(head_only=method == "HEAD")
            try:
                connection.write(head)
                if body is not None:
                    await self._send_body(connection, response, body, chunked)
                await asyncio.wait_for(asyncio.shield(response.head_ready), self.read_timeout)
                return connection, response
            except asyncio.TimeoutError:
                connection.close()
                raise UpstreamTimeout("no answer within the read timeout") from None
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
        """Stream the client's body upstream, stopping early if the upstream has already answered."""
        async for chunk in body.chunks():
            if response.head_ready.done():
                response.keep_alive = False  # it answered before reading everything: do not reuse
                return
            connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await connection.drain(self.read_timeout)
        if chunked:
            connection.write(b"0\r\n\r\n")

    async def _answer_failure(self, exc: Exception, body: "_RequestBody | None", send, service: str, path: str,
                              request_id: str) -> None:
        """Turn a failed upstream exchange into the right problem answer."""
        if body is not None and body.client_gone:
            return
        if isinstance(exc, BodyTooLarge):
            await send_problem(send, 413, "payload-too-large", "Payload too large",
                               f"This route accepts bodies of at most {exc.limit} bytes.",
                               instance=path, request_id=request_id, limit_bytes=exc.limit)
        elif isinstance(exc, UpstreamTimeout):
            await send_problem(send, 504, "gateway-timeout", "Gateway timeout",
                               f"The {service} service did not answer within the gateway's timeout.",
                               instance=path, request_id=request_id, service=service)
        else:
            log.warning("upstream %s unreachable: %s", service, exc)
            await send_problem(send, 503, "service-unavailable", "Service unavailable",
                               f"The {service} service is unavailable; try again shortly.",
                               instance=path, request_id=request_id, service=service)

    async def _relay(self, pool: UpstreamPool, connection, response, send, service: str, path: str,
                     request_id: str) -> None:
        """Stream the upstream answer to the client; a failure mid-body can only cut the connection."""
        released = False
        try:
            headers = response_headers(response.headers)
            length = next((v for k, v in response.headers if k == b"content-length"), None)
            if length is not None:
                headers.append((b"content-length", length))
            headers.append((b"x-request-id", request_id.encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            while (chunk := await response.next_chunk(self.read_timeout)) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            pool.release(connection, response)
            released = True
        except UpstreamError:
            log.warning("upstream %s broke off its answer to %s", service, path)
            raise
        finally:
            if not released:
                connection.close()


class _RequestBody:
    """The client's body, streamed chunk by chunk, counted against the route's limit."""

    def __init__(self, receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
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
