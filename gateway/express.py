"""The express lane: a plain proxied request answered from uvicorn's protocol callbacks, without an ASGI task.

With the gateway and a service at two workers each on two cores, every microsecond of the gateway's CPU is taken from
the service. The ASGI data path (gateway/proxy.py) spends ~288,000 instructions per proxied GET (callgrind: `make
bench SECTIONS=instructions`), a good part of it on plumbing: the scope, a task, futures and awaits, message dicts,
uvicorn's response cycle. Here a GET with no body under /api/v1, whose token verifies and whose caller is within its
rate limit, goes upstream from the very callback that parsed its head, and its answer goes back from the callbacks
that parse the upstream's: ~176,000. Per request it makes no ASGI scope, no timer (the read timeout is swept per
upstream pool, the keep-alive timeout re-arms one timer per connection), and writes its access line as text.

A POST, PUT, PATCH or DELETE takes the lane too when its body is small and its length declared (a pre-check's dossier,
a form): the body is gathered as uvicorn parses it and goes upstream with the head, in one write. Under load a
pre-check took ~240 µs of the gateway's CPU on the ASGI path and ~200 µs here (most of either in the socket calls).

Anything else takes the ASGI path, which stays the reference behaviour: a chunked or larger body, a GET's body,
`Expect`, an upgrade, a refusal (401, 404, 429: the ASGI path answers them), a percent-encoded path, a pipelined
request, a traced gateway. A client address vouched for by a trusted proxy in front (`X-Forwarded-For`/`-Proto`) is
read by uvicorn's own middleware, as on the ASGI path. The answers are the same either way, and the proxy's
conformance tests run against the gateway as deployed, with this lane.

uvicorn runs it with `--http gateway.express:ExpressProtocol`, as the run command (deploy/serve.py) gives the gateway;
under plain `--http httptools` every request takes the ASGI path.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from common.auth import bearer_token
from common.logging import new_request_id, valid_request_id

from .proxy import (API_PREFIX, INTERNAL_SERVICE_PATHS, PUBLIC_SERVICE_PATHS, ProxyApp, forward_request_head,
                    response_headers, upstream_failure)
from .upstream import (Receiver, UpstreamError, UpstreamPool, UpstreamTimeout, UpstreamUnavailable, _Connection,
                       request_head)

API_PREFIX_BYTES = API_PREFIX.encode()
# request headers that send a request down the ASGI path: a chunked body, 100-continue, an upgrade
ASGI_ONLY_HEADERS = frozenset({b"transfer-encoding", b"expect", b"upgrade"})
BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
# the largest body gathered in the lane: uvicorn's own high-water mark, so reading never pauses meanwhile; a larger
# one is streamed by the ASGI path
EXPRESS_BODY_BYTES = 64 * 1024
FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-proto"})
log = logging.getLogger("fundflow.gateway.proxy")


@functools.cache  # one app per process: found once, not on every connection
def express_proxy(app) -> tuple[ProxyApp | None, "_Forwarding | None"]:
    """The gateway's proxy under uvicorn's wrappers (None when it may not take the express lane), and uvicorn's
    reading of forwarding headers when it is configured to trust a proxy in front."""
    forwarding = None
    for _ in range(8):  # uvicorn's own middlewares wrap the app a few levels deep at most
        if app is None:
            break
        if isinstance(app, ProxyHeadersMiddleware):
            forwarding = _Forwarding(app)
        if hasattr(app, "express_proxy"):
            return app.express_proxy, forwarding
        app = getattr(app, "app", None)
    return None, None


async def _scope_read(scope, receive, send) -> None:
    """The app behind the express lane's copy of uvicorn's forwarding middleware: nothing, the scope is what it wants."""


class _Forwarding:
    """uvicorn's ProxyHeadersMiddleware run on a request's client and scheme, with the trust it was configured with."""

    def __init__(self, middleware: ProxyHeadersMiddleware) -> None:
        self.reader = ProxyHeadersMiddleware(_scope_read)
        self.reader.trusted_hosts = middleware.trusted_hosts

    def client_and_scheme(self, client, scheme: str, headers) -> tuple | None:
        """The client address and scheme the ASGI path would see; None if the middleware did not finish at once."""
        scope = {"type": "http", "client": client, "scheme": scheme, "headers": headers}
        step = self.reader(scope, None, None)
        try:
            step.send(None)  # it awaits nothing but the app above, which returns at once
        except StopIteration:
            return scope["client"], scope["scheme"]
        step.close()
        return None


class ExpressProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that answers plain proxied GETs in the express lane."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.proxy, self.forwarding = express_proxy(self.app)
        self.exchange: _Exchange | None = None
        # the keep-alive timeout after an express answer: when the connection fell idle (None while a request is on
        # it), checked by one timer that re-arms itself, instead of uvicorn's timer made and cancelled per request
        self.idle_since: float | None = None
        self.idle_check: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        super().data_received(data)

    def on_message_begin(self) -> None:
        # uvicorn builds the request's ASGI scope here; only a request the ASGI path takes needs it (_begin_scope)
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        if self.proxy is None or not self.url.startswith(API_PREFIX_BYTES) or not self._express():
            self._begin_scope()
            super().on_headers_complete()

    def _begin_scope(self) -> None:
        """uvicorn's scope of this request, holding the URL and headers parsed so far."""
        url, headers, expect_100_continue = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.expect_100_continue = url, expect_100_continue
        self.headers.extend(headers)  # the list the scope holds

    def on_message_complete(self) -> None:
        exchange = self.exchange
        if exchange is None:
            super().on_message_complete()
            return
        self.cycle.more_body = False  # what uvicorn's would do with the express lane's cycle
        if exchange.awaiting_body:
            exchange.body_complete(bytes(self.cycle.body))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.idle_check is not None:
            self.idle_check.cancel()
        if self.exchange is not None:
            self.exchange.client_gone()

    def express_complete(self) -> None:
        """uvicorn's on_response_complete for an answer of the express lane, keeping the keep-alive timeout lazily."""
        if self.pipeline or self.transport.is_closing():
            super().on_response_complete()  # a queued request starts, or nothing is left to time
            return
        self.server_state.total_requests += 1
        self.flow.resume_reading()
        self.idle_since = self.loop.time()
        if self.idle_check is None:
            self.idle_check = self.loop.call_later(self.timeout_keep_alive, self._check_idle)

    def _check_idle(self) -> None:
        """Close a connection idle for the keep-alive timeout, as uvicorn would; else look again when it could be."""
        idle_for = 0.0 if self.idle_since is None else self.loop.time() - self.idle_since
        if idle_for >= self.timeout_keep_alive:
            self.idle_check = None
            self.timeout_keep_alive_handler()
            return
        self.idle_check = self.loop.call_later(self.timeout_keep_alive - idle_for, self._check_idle)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.exchange is not None:
            self.exchange.client_drained()

    def _express(self) -> bool:
        """Start this request in the express lane; False when it needs the ASGI path."""
        parser, proxy = self.parser, self.proxy
        method = parser.get_method()
        if ((method != b"GET" and method not in BODY_METHODS) or parser.get_http_version() != "1.1"
                or parser.should_upgrade()
                or self.root_path or self.limit_concurrency is not None
                or (self.cycle is not None and not self.cycle.response_complete)):  # pipelined: uvicorn queues it
            return False
        authorization = request_id = length = None
        forwarded = False
        for name, value in self.headers:
            if name in ASGI_ONLY_HEADERS:
                return False
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
            elif name == b"x-request-id" and request_id is None:  # the first, as on the ASGI path
                request_id = value.decode("latin-1")
            elif name in FORWARDING_HEADERS:
                forwarded = True
        client, scheme = self.client, self.scheme
        if forwarded and self.forwarding is not None:
            seen = self.forwarding.client_and_scheme(client, scheme, self.headers)
            if seen is None:
                return False
            client, scheme = seen
        # the target is in origin form (it starts with /api/v1/): its path ends at the query
        raw_path, _, query = self.url.partition(b"?")
        if b"%" in raw_path or b"#" in self.url or not raw_path.isascii():
            return False  # the ASGI path routes on the decoded path (and drops a fragment)
        path = raw_path.decode("ascii")
        service, _, rest = path[len(API_PREFIX):].partition("/")
        pool = proxy.pools.get(service)
        if pool is None or rest in INTERNAL_SERVICE_PATHS:
            return False
        if length is not None and (method == b"GET" or not length.isdigit()
                                   or int(length) > min(EXPRESS_BODY_BYTES, proxy.body_limits.limit_for(path))):
            return False  # the ASGI path streams it, or refuses it (413)
        if rest not in PUBLIC_SERVICE_PATHS:
            try:
                principal = proxy.verifier.verify(bearer_token(authorization.decode("latin-1") if authorization
                                                               else None))
            except Exception:  # noqa: BLE001 - whatever the refusal, the ASGI path answers it
                return False
            # a refused caller is asked again by the ASGI path: a refusal takes no token, so this costs it nothing
            if proxy.limiter.acquire(f"{principal.role}:{principal.subject}") > 0:
                return False
        if not valid_request_id(request_id):
            request_id = new_request_id()
        target = b"/" + raw_path[len(API_PREFIX) + len(service) + 1:].lstrip(b"/") if rest else b"/"
        if query:
            target += b"?" + query
        forward = forward_request_head(self.headers, request_id, client[0] if client else None, scheme)
        self.cycle = cycle = _Cycle(parser.should_keep_alive())
        verb = method.decode("ascii")
        self.exchange = _Exchange(self, cycle, pool, request_head(verb, target, pool.host_header, forward, False),
                                  service, path, request_id, verb)
        if length is None or length == b"0":
            self.exchange.start()
        else:
            self.exchange.awaiting_body = True  # sent once uvicorn has parsed it all (on_message_complete)
        return True


class _Unwatched:
    """Stands in for the event uvicorn sets when a request's body arrives: nobody waits for this one's."""

    @staticmethod
    def set() -> None:
        pass


class _Cycle:
    """What uvicorn's protocol reads of a request's response cycle while the express lane answers it."""

    __slots__ = ("keep_alive", "response_complete", "disconnected", "more_body", "body")
    message_event = _Unwatched()

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self.response_complete = False
        self.disconnected = False
        self.more_body = True
        self.body = bytearray()


class _Exchange(Receiver):
    """One request in the express lane: its head (and small body) goes upstream, and the answer is written back as it
    is parsed."""

    __slots__ = ("started", "protocol", "transport", "loop", "cycle", "pool", "head", "service", "path", "request_id",
                 "method", "awaiting_body", "body", "written_upstream", "connection", "reused", "connecting",
                 "last_heard", "finished", "client_head", "out", "chunked", "written")

    def __init__(self, protocol: ExpressProtocol, cycle: _Cycle, pool: UpstreamPool, head: bytes, service: str,
                 path: str, request_id: str, method: str) -> None:
        self.started = time.perf_counter()
        self.protocol = protocol
        self.transport = protocol.transport
        self.loop = protocol.loop
        self.cycle = cycle
        self.pool = pool
        self.head = head
        self.service = service
        self.path = path
        self.request_id = request_id
        self.method = method
        self.awaiting_body = False
        self.body = b""
        self.written_upstream = False  # the request went out: a body cannot be sent again (as on the ASGI path)
        self.connection: _Connection | None = None
        self.reused = False
        self.connecting: asyncio.Task | None = None  # kept while it runs: the loop holds tasks only weakly
        self.last_heard = 0.0
        self.finished = False  # the client's answer is complete, cut, or nobody is left to read it
        self._expect_answer()

    def _expect_answer(self) -> None:
        self.expect_answer()
        self.client_head: bytes | None = None  # held back to go out with the first piece of the body
        self.out: list[bytes] = []
        self.chunked = False
        self.written = False

    # sending the request
    def body_complete(self, body: bytes) -> None:
        """The client's whole body has arrived: send the request."""
        self.awaiting_body = False
        if not self.finished:  # the client may have left meanwhile
            self.body = body
            self.start()

    def start(self) -> None:
        """Send the request on a kept connection, or on a new one when none is free."""
        connection = self.pool.take_idle()
        if connection is None:
            self.connecting = self.loop.create_task(self._connect_and_send())
        else:
            self._send(connection, reused=True)

    async def _connect_and_send(self) -> None:
        # not cancelled when the client leaves meanwhile: a connection made as it was cancelled would be lost
        try:
            connection, reused = await self.pool.acquire()
        except UpstreamError as exc:
            if not self.finished:
                self._answer_failure(exc)
            return
        if self.finished:
            connection.close()
            return
        self._send(connection, reused)

    def _send(self, connection: _Connection, reused: bool) -> None:
        self.connection, self.reused = connection, reused
        connection.expect(self)
        self.last_heard = self.loop.time()
        self.pool.watch_silence(self, self.loop)
        try:
            connection.write(self.head + self.body if self.body else self.head)
        except UpstreamUnavailable as exc:
            self.fail(exc)
        else:
            self.written_upstream = True

    # the upstream's answer, called by the connection
    def head_arrived(self) -> None:
        """Compose the client's head; it waits for the first piece of the body."""
        length = next((value for name, value in self.headers if name == b"content-length"), None)
        headers = response_headers(self.headers)
        if length is not None:
            headers.append((b"content-length", length))
        elif self.status >= 200 and self.status not in (204, 304):
            self.chunked = True  # as uvicorn frames an answer of unknown length
            headers.append((b"transfer-encoding", b"chunked"))
        headers.append((b"x-request-id", self.request_id.encode()))
        self.client_head = self._head(self.status, headers)

    def feed(self, chunk: bytes) -> None:
        self.out.append(b"%x\r\n%b\r\n" % (len(chunk), chunk) if self.chunked else chunk)

    def finish(self) -> None:
        self.complete = True
        if self.chunked:
            self.out.append(b"0\r\n\r\n")

    def fail(self, exc: Exception) -> None:
        if not self.complete and not self.finished:
            self._give_up(exc)

    def end_of_read(self) -> None:
        """One read from the upstream is parsed: write what it brought to the client at once."""
        if self.finished:
            return
        self.last_heard = self.loop.time()
        if not self.out and not self.complete:
            return  # a head alone waits for its body: one write instead of two
        data = b"".join(self.out)
        self.out.clear()
        if self.client_head is not None:
            data = self.client_head + data
            self.client_head = None
        self.written = True
        if not self.transport.is_closing():  # a client gone but not yet told: its connection_lost comes next
            self.transport.write(data)
        if self.complete:
            self.pool.unwatch_silence(self)
            self.pool.release(self.connection, self)
            self._end(self.status)
        elif self.protocol.flow.write_paused:
            self.connection.pause_reading()  # the client reads slower than the upstream writes

    # the client's side
    def client_drained(self) -> None:
        if self.connection is not None and not self.finished:
            self.last_heard = self.loop.time()  # the upstream's silence counts from when it may send again
            self.connection.resume_reading()

    def client_gone(self) -> None:
        """The client closed its connection: nobody reads the answer, so the upstream connection goes too."""
        if self.finished:
            return
        self._drop_connection()
        self._end(499)  # nginx's code for a client that left

    # endings
    def silent(self) -> None:
        if not self.protocol.flow.write_paused:  # a slow client is not a silent upstream
            self._give_up(UpstreamTimeout("no answer within the read timeout"))

    def _give_up(self, exc: Exception) -> None:
        """The upstream failed: retry a reused connection found closed, answer a problem, or cut the answer short."""
        self._drop_connection()
        if self.written:
            log.warning("upstream %s broke off its answer to %s", self.service, self.path)
            self.transport.close()
            self._end(502)  # recorded as the upstream's failure: the client saw a head, then a cut
        elif (self.reused and self.status == 0 and isinstance(exc, UpstreamUnavailable)
              and not (self.body and self.written_upstream)):
            # the upstream closed a kept-alive connection as it was reused: nothing was answered, so send it again
            # (as the ASGI path does, not a body once it went out: the upstream may have acted on it)
            self._expect_answer()
            self.start()
        else:
            self._answer_failure(exc)

    def _drop_connection(self) -> None:
        self.pool.unwatch_silence(self)
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.response = None  # its close must not call back into this exchange
            connection.close()

    def _answer_failure(self, exc: Exception) -> None:
        status, headers, body = upstream_failure(exc, self.service, self.path, self.request_id)
        if not self.transport.is_closing():
            self.transport.write(self._head(status, headers) + body)
        self._end(status)

    def _head(self, status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        """Status line and header block, with uvicorn's default headers, as uvicorn would write them."""
        content = [STATUS_LINE.get(status) or b"HTTP/1.1 %d \r\n" % status]
        for name, value in (*self.protocol.server_state.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        if not self.cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content.append(b"\r\n")
        return b"".join(content)

    def _end(self, status: int) -> None:
        """Record the request and hand the client's connection back to uvicorn for its next request."""
        self.finished = True
        protocol = self.protocol
        protocol.exchange = None
        protocol.proxy.record(self.method, self.path, status, self.started, self.request_id)
        self.cycle.response_complete = True
        if not self.cycle.keep_alive:
            self.transport.close()
        protocol.express_complete()
