"""A lean HTTP/1.1 client for the data path: keep-alive connection pools parsed with httptools.

Measured on this kind of machine, generic clients (httpx, aiohttp) cost the proxy most of its throughput;
this one does only what a reverse proxy needs: write a request head, stream a body, parse a response
head, stream its body back with flow control, and keep the connection for the next request when it can.
"""
from __future__ import annotations

import asyncio
import collections
import socket
import time
from urllib.parse import urlsplit

import httptools

HIGH_WATER = 1024 * 1024  # pause reading from the upstream above this many buffered response bytes
LOW_WATER = 256 * 1024
# an idle connection is not reused after this long: the services' uvicorn closes it after 5 s (timeout_keep_alive),
# and a request written as it closes is lost; a POST's body is gone by then and cannot be retried (~1 in 10,000
# pre-checks at 16 connections answered 503 before)
IDLE_REUSE_S = 4.0
FRAMING_HEADERS = frozenset({b"content-length", b"transfer-encoding"})  # an answer without either ends at the close


class UpstreamError(Exception):
    """The upstream exchange failed."""


class UpstreamUnavailable(UpstreamError):
    """Could not connect, or the connection broke before an answer."""


class UpstreamTimeout(UpstreamError):
    """The upstream stayed silent longer than the read timeout."""


class Receiver:
    """What a connection fills in while it parses an answer; it calls head_arrived, feed, finish, fail and
    end_of_read on it. An UpstreamResponse, or an exchange of the gateway's express lane."""

    __slots__ = ("status", "headers", "keep_alive", "close_delimited", "complete", "error")  # one per request
    head_only = False

    def expect_answer(self) -> None:
        """Nothing of an answer received yet."""
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False  # the upstream's: whether the connection can carry another request
        self.close_delimited = False
        self.complete = False
        self.error: Exception | None = None

    def end_of_read(self) -> None:
        """All of one read from the connection is parsed: nothing to do unless the receiver writes in batches."""

    last_heard = 0.0  # for a receiver the pool watches (watch_silence): when the upstream last sent, on the loop's clock

    def silent(self) -> None:
        """The upstream has been silent for the read timeout (called by the pool when it watches this receiver)."""


class UpstreamResponse(Receiver):
    """One response being received: its head, then its body chunks as they arrive."""

    __slots__ = ("connection", "head_only", "loop", "head_ready", "_chunks", "_buffered", "_waiter")

    def __init__(self, connection: "_Connection", head_only: bool) -> None:
        self.connection = connection
        self.head_only = head_only
        self.expect_answer()
        self.loop = connection.loop
        self.head_ready = self.loop.create_future()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._waiter: asyncio.Future | None = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def feed(self, chunk: bytes) -> None:
        """Body bytes arrived (called by the protocol)."""
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > HIGH_WATER:
            self.connection.pause_reading()
        self._wake()

    def head_arrived(self) -> None:
        """The status and headers are in (called by the protocol)."""
        if not self.head_ready.done():
            self.head_ready.set_result(None)

    def finish(self) -> None:
        """The message is complete (called by the protocol)."""
        self.complete = True
        if not self.head_ready.done():
            self.head_ready.set_result(None)
        self._wake()

    def fail(self, exc: Exception) -> None:
        """The connection broke (called by the protocol)."""
        if self.complete:
            return
        self.error = exc
        if not self.head_ready.done():
            self.head_ready.set_exception(exc)
        self._wake()

    async def wait_head(self, timeout: float) -> None:
        """Wait for the response head; UpstreamTimeout after `timeout` seconds of silence."""
        if not self.head_ready.done():
            # a timer on the future itself: cheaper than asyncio.wait_for on this per-request path
            timer = self.loop.call_later(timeout, self._expire, self.head_ready)
            try:
                await self.head_ready
            finally:
                timer.cancel()
        self.head_ready.result()

    @staticmethod
    def _expire(future: asyncio.Future) -> None:
        if not future.done():
            future.set_exception(UpstreamTimeout("no answer within the read timeout"))

    def at_end(self) -> bool:
        """Every byte of the body has been handed out."""
        return self.complete and not self._chunks

    async def next_chunk(self, timeout: float) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while not self._chunks:
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            self._waiter = waiter = self.loop.create_future()
            timer = self.loop.call_later(timeout, self._expire, waiter)
            try:
                await waiter
            except UpstreamTimeout:
                raise UpstreamTimeout("the upstream stopped sending its body") from None
            finally:
                timer.cancel()
                self._waiter = None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._buffered < LOW_WATER:
            self.connection.resume_reading()
        return chunk


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an upstream, parsing responses with httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Receiver | None = None
        self.lost = False
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future | None = None
        self._framed = False
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        # kept: on Python 3.11 every asyncio.get_running_loop() is a getpid() system call
        self.loop = asyncio.get_running_loop()
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:
            # bytes nobody asked for: the connection cannot be trusted any more
            self.transport.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            response.fail(UpstreamUnavailable(f"malformed answer: {exc}"))
            self.transport.close()
            return
        response.end_of_read()

    def connection_lost(self, exc) -> None:
        self.lost = True
        response = self.response
        if response is not None and not response.complete:
            if response.status and response.close_delimited and response.error is None:
                response.finish()  # a body delimited by the close of the connection ends here
                response.end_of_read()
            else:
                response.fail(UpstreamUnavailable("the upstream closed the connection"))
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(UpstreamUnavailable("the upstream closed the connection"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lname = name.lower()
        if lname in FRAMING_HEADERS:
            self._framed = True
        self.response.headers.append((lname, value))

    def on_headers_complete(self) -> None:
        response = self.response
        response.status = self.parser.get_status_code()
        # read keep-alive here: httptools reports False once the message is complete
        response.keep_alive = self.parser.should_keep_alive()
        response.close_delimited = not self._framed and response.status not in (204, 304) and not response.head_only
        response.head_arrived()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)  # an answer before the whole body: stop waiting to write more
        if response.head_only:
            # no body follows a HEAD answer; the parser cannot be told, so this connection is not reused
            response.keep_alive = False
            response.finish()

    def on_body(self, body: bytes) -> None:
        if not self.response.head_only:
            self.response.feed(bytes(body))

    def on_message_complete(self) -> None:
        self.response.finish()

    # used by the pool and the proxy
    def begin(self, head_only: bool) -> UpstreamResponse:
        """Expect a new response on this connection."""
        return self.expect(UpstreamResponse(self, head_only))

    def expect(self, response: Receiver) -> Receiver:
        """Expect a new response on this connection, handed to `response`.

        The connection's parser goes on with it: a connection is only reused after an answer read to its end, where
        httptools is ready for the next one."""
        self._framed = False
        self.response = response
        return response

    def write(self, data: bytes) -> None:
        """Send bytes; raises when the connection is gone."""
        if self.lost or self.transport.is_closing():
            raise UpstreamUnavailable("the upstream closed the connection")
        self.transport.write(data)

    async def drain(self, timeout: float) -> None:
        """Wait while the upstream is slow to take what was written."""
        if not self._write_paused:
            return
        self._drain_waiter = self.loop.create_future()
        try:
            await asyncio.wait_for(self._drain_waiter, timeout)
        except asyncio.TimeoutError:
            raise UpstreamTimeout("the upstream stopped reading the request body") from None
        finally:
            self._drain_waiter = None

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.lost:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and not self.lost:
            self._reading_paused = False
            self.transport.resume_reading()

    def reusable(self) -> bool:
        """Whether the connection can carry another request."""
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one upstream base URL."""

    def __init__(self, base_url: str, max_idle: int, connect_timeout: float, read_timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.host_header = parts.netloc.encode("latin-1")
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: list[_Connection] = []
        self._watched: set[Receiver] = set()  # receivers waiting on this upstream, for watch_silence
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_every = min(1.0, read_timeout / 4)

    def take_idle(self) -> _Connection | None:
        """A kept connection still fit for a request, or None."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable() and now - connection.idle_since < IDLE_REUSE_S:
                return connection
            connection.close()
        return None

    async def acquire(self) -> tuple[_Connection, bool]:
        """A connection, and whether it was reused from the pool."""
        connection = self.take_idle()
        if connection is not None:
            return connection, True
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), self.connect_timeout)
        except asyncio.TimeoutError:
            raise UpstreamTimeout("could not connect in time") from None
        except OSError as exc:
            raise UpstreamUnavailable(f"could not connect: {exc.strerror or exc}") from exc
        return connection, False

    def release(self, connection: _Connection, response: UpstreamResponse) -> None:
        """Give a connection back after its response was read to the end, or close it."""
        connection.response = None
        if response.complete and response.keep_alive and connection.reusable() and len(self._idle) < self.max_idle:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()

    def watch_silence(self, receiver: Receiver, loop: asyncio.AbstractEventLoop) -> None:
        """Call receiver.silent() when it has heard nothing from the upstream for the read timeout (receiver.last_heard,
        on the loop's clock), within a quarter of it (at most a second) more, until unwatched.

        One timer per pool sweeps every receiver waiting: a timer made and cancelled for each request cost ~5,500
        instructions of the express lane's ~187,000 per proxied GET."""
        self._watched.add(receiver)
        if self._sweep is None:
            self._sweep = loop.call_later(self._sweep_every, self._sweep_silent, loop)

    def unwatch_silence(self, receiver: Receiver) -> None:
        """Stop watching a receiver (its answer is complete, or it gave up)."""
        self._watched.discard(receiver)

    def _sweep_silent(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        heard_before = loop.time() - self.read_timeout
        for receiver in [receiver for receiver in self._watched if receiver.last_heard <= heard_before]:
            receiver.silent()
        if self._watched:
            self._sweep = loop.call_later(self._sweep_every, self._sweep_silent, loop)

    def close(self) -> None:
        """Close every idle connection."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def request_head(method: str, target: bytes, host: bytes, header_lines: list[bytes], chunked: bool) -> bytes:
    """The bytes of a request line and its header lines."""
    lines = [method.encode("ascii") + b" " + target + b" HTTP/1.1", b"host: " + host, *header_lines]
    if chunked:
        lines.append(b"transfer-encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"
