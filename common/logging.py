"""Structured JSON logs on stdout and the request id that ties a request's lines together across services."""
from __future__ import annotations

import atexit
import contextvars
import itertools
import logging
import os
import sys
import threading
import time
from datetime import datetime, timezone

from pydantic_core import to_json

REQUEST_ID_HEADER = "x-request-id"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_service_name = "fundflow"


_second_prefix: tuple[int, str] = (-1, "")  # the last second formatted, and its text (one tuple: read atomically)
_MILLISECONDS = [f".{ms:03d}+00:00" for ms in range(1000)]  # a lookup: a format spec costs ~2,000 instructions


def iso_timestamp(epoch_s: float) -> str:
    """UTC ISO 8601 to the millisecond, as isoformat(timespec="milliseconds") writes it, its second formatted once."""
    global _second_prefix
    second = int(epoch_s)
    micro = round((epoch_s - second) * 1e6)  # rounded to the microsecond first, as datetime does
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    cached_second, prefix = _second_prefix
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _second_prefix = (second, prefix)
    return prefix + _MILLISECONDS[micro // 1000]


def json_line(entry: dict) -> str:
    """One log line's JSON, compact and UTF-8 (pydantic-core: ~0.5 µs where json.dumps took ~2.7 µs per line)."""
    return to_json(entry, fallback=str).decode()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the service and the current request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": iso_timestamp(record.created),
            "level": record.levelname.lower(),
            "service": _service_name,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key in ("method", "route", "path", "status", "latency_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json_line(entry)


class BufferedStdoutHandler(logging.Handler):
    """Writes formatted lines to stdout in batches: one write per 200 ms or 64 KiB, not one per request.

    An access line per request is on the hot path; a syscall and flush for each costs a tenth of the
    gateway's throughput. Errors and warnings are written at once.
    """

    FLUSH_EVERY_S = 0.2
    FLUSH_BYTES = 64 * 1024

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[str] = []
        self._size = 0
        self._flusher = threading.Thread(target=self._flush_periodically, daemon=True, name="log-flusher")
        self._flusher.start()
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging must never break the request
            self.handleError(record)
            return
        self._queue(line, urgent=record.levelno >= logging.WARNING)

    def queue(self, line: str) -> None:
        """Add a formatted line from outside logging (log_access), under the handler's lock like a record."""
        with self.lock:
            self._queue(line, urgent=False)

    def _queue(self, line: str, urgent: bool) -> None:
        self._pending.append(line)
        self._size += len(line)
        if urgent or self._size >= self.FLUSH_BYTES:
            self._write()

    def _write(self) -> None:
        if self._pending:
            text, self._pending, self._size = "".join(self._pending), [], 0
            sys.stdout.write(text)
            sys.stdout.flush()

    def flush(self) -> None:
        with self.lock:
            self._write()

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(self.FLUSH_EVERY_S)
            self.flush()


_stdout_handler: BufferedStdoutHandler | None = None


def log_access(logger: logging.Logger, method: str, route: str, status: int, latency_ms: float,
               request_id: str | None = None) -> None:
    """A request's access line, the JSON JsonFormatter writes, queued on the stdout handler without a LogRecord.

    Made through logging (a record, its formatting, the handler's lock) it took ~12 µs of the gateway's ~70 µs of CPU
    per proxied request. Where the root logger writes elsewhere (a test tool's handler) it goes through logging.
    The request id is the current one unless given."""
    if not logger.isEnabledFor(logging.INFO):
        return
    rid = request_id if request_id is not None else request_id_var.get()
    handler = _stdout_handler
    if handler is None or logging.getLogger().handlers != [handler]:
        token = request_id_var.set(rid)
        logger.info("request", extra={"method": method, "route": route, "status": status, "latency_ms": latency_ms})
        request_id_var.reset(token)
        return
    handler.queue(access_line(logger.name, method, route, status, latency_ms, rid))


def access_line(logger_name: str, method: str, route: str, status: int, latency_ms: float, rid: str | None) -> str:
    """The access line's JSON, as json_line writes it, and its newline.

    Written as text when no value needs escaping: ~2.1 µs a line in-process against ~2.8 µs for the dictionary and
    its serialisation (most of what is left is the timestamp and the float's repr)."""
    ts = iso_timestamp(time.time())
    text = f"{_service_name}{logger_name}{method}{route}{rid or ''}"
    # JSON holds printable ASCII as it is, but for the quote and the backslash
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        request_id = f',"request_id":"{rid}"' if rid else ""
        return (f'{{"ts":"{ts}","level":"info","service":"{_service_name}","logger":"{logger_name}","msg":"request"'
                f'{request_id},"method":"{method}","route":"{route}","status":{status:d},"latency_ms":{latency_ms!r}}}\n')
    entry = {"ts": ts, "level": "info", "service": _service_name, "logger": logger_name, "msg": "request"}
    if rid:
        entry["request_id"] = rid
    entry.update(method=method, route=route, status=status, latency_ms=latency_ms)
    return json_line(entry) + "\n"


def configure_logging(service: str, level: str = "info") -> None:
    """Send this process's logs to stdout as JSON lines."""
    global _service_name
    _service_name = service
    # documented logging optimisations: no caller, thread or process lookups per record
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _stdout_handler
    handler = _stdout_handler = BufferedStdoutHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log repeats ours without the request id
    logging.getLogger("uvicorn.access").disabled = True


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A request id unique across processes: a random per-process prefix and a counter (no syscall per request)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def valid_request_id(value: str | None) -> bool:
    """A client-given request id is kept when it is short printable ASCII."""
    return bool(value) and len(value) <= 128 and value.isascii() and value.isprintable()


class RequestContextMiddleware:
    """Pure ASGI middleware: sets/propagates X-Request-ID and writes one access line per request."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.access = logging.getLogger(f"fundflow.access.{service}")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not valid_request_id(rid):
            rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status_holder = {"status": 500}
        header_value = rid.encode()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", header_value))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            log_access(self.access, scope.get("method"), getattr(route, "path", None) or scope.get("path"),
                       status_holder["status"], round((time.perf_counter() - started) * 1000, 2))
            request_id_var.reset(token)
