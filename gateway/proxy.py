"""The /api/v1 data path: a bare ASGI reverse proxy that streams bodies both ways over keep-alive connections."""
from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from common.auth import WWW_AUTHENTICATE, TokenVerifier, bearer_token
from common.problems import PROBLEM_MEDIA_TYPE, Unauthorized, problem_body

from .limits import BodyLimits, BodyTooLarge, RateLimiter, retry_after_header

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
        self.upstreams = upstreams
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout,
                                             sock_read=read_timeout)
        self.pool_size = pool_size
        self.verifier = verifier
        self.limiter = limiter
        self.body_limits = body_limits
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the keep-alive pool (inside the running loop)."""
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.pool_size, keepalive_timeout=30,
                                         enable_cleanup_closed=True)
        # auto_decompress off: bodies pass through byte for byte
        self.session = aiohttp.ClientSession(connector=connector, timeout=self.timeout, auto_decompress=False,
                                             skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"))

    async def stop(self) -> None:
        """Close the pool."""
        if self.session is not None:
            await self.session.close()

    async def __call__(self, scope, receive, send) -> None:
        path = scope["path"]
        request_id = scope.get("state", {}).get("request_id", "")
        service, _, rest = path[len(API_PREFIX):].partition("/")
        base = self.upstreams.get(service)
        if base is None:
            await send_problem(send, 404, "not-found", "Not found",
                               f"No service named '{service}'; the API has {', '.join(sorted(self.upstreams))}.",
                               instance=path, request_id=request_id)
            return
        headers = dict((k.lower(), v) for k, v in scope["headers"])
        if rest not in PUBLIC_SERVICE_PATHS and not await self._admit(scope, headers, send, path, request_id):
            return
        limit = self.body_limits.limit_for(path)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_problem(send, 413, "payload-too-large", "Payload too large",
                               f"This route accepts bodies of at most {limit} bytes; this one declares {int(declared)}.",
                               instance=path, request_id=request_id, limit_bytes=limit)
            return
        url = f"{base}/{rest}"
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        client = scope.get("client")
        forward = forward_request_headers(scope["headers"], request_id, client[0] if client else None,
                                          scope.get("scheme", "http"))
        body = _RequestBody(receive, limit) if (declared is not None or b"transfer-encoding" in headers) else None
        try:
            upstream = await self.session.request(scope["method"], url, headers=forward,
                                                  data=body.chunks() if body else None,
                                                  allow_redirects=False, compress=None)
        except Exception as exc:
            await self._answer_failure(exc, body, send, service, path, request_id)
            return
        await self._relay_response(upstream, send, service, path, request_id)

    async def _admit(self, scope, headers: dict[bytes, bytes], send, path: str, request_id: str) -> bool:
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

    async def _answer_failure(self, exc: Exception, body: "_RequestBody | None", send, service: str, path: str,
                              request_id: str) -> None:
        """Turn a failed upstream exchange into the right problem answer."""
        if body is not None and body.client_gone:
            return
        if body is not None and body.too_large:
            await send_problem(send, 413, "payload-too-large", "Payload too large",
                               f"This route accepts bodies of at most {body.limit} bytes.",
                               instance=path, request_id=request_id, limit_bytes=body.limit)
            return
        if isinstance(exc, asyncio.TimeoutError):
            await send_problem(send, 504, "gateway-timeout", "Gateway timeout",
                               f"The {service} service did not answer within the gateway's timeout.",
                               instance=path, request_id=request_id, service=service)
            return
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            log.warning("upstream %s unreachable: %s", service, exc.__class__.__name__)
            await send_problem(send, 503, "service-unavailable", "Service unavailable",
                               f"The {service} service is unavailable; try again shortly.",
                               instance=path, request_id=request_id, service=service)
            return
        raise exc

    async def _relay_response(self, upstream: aiohttp.ClientResponse, send, service: str, path: str,
                              request_id: str) -> None:
        """Stream the upstream answer to the client; a failure mid-body can only cut the connection."""
        try:
            headers = response_headers(upstream.raw_headers)
            if upstream.content_length is not None:
                headers.append((b"content-length", str(upstream.content_length).encode()))
            headers.append((b"x-request-id", request_id.encode()))
            await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
            try:
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError):
                log.warning("upstream %s broke off its answer to %s", service, path)
                raise
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            upstream.release()


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
