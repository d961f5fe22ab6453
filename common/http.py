"""Calls between services: httpx with timeouts, bounded retries for idempotent requests, request id propagation."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import httpx

from .logging import request_id_var
from .problems import GatewayTimeout, ServiceUnavailable

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _RetryPolicy:
    """When a failed call may be tried again, and how long to wait first."""

    def __init__(self, service: str, retries: int, backoff: float) -> None:
        self.service = service
        self.retries = retries
        self.backoff = backoff

    def attempts(self, method: str, idempotent: bool | None) -> int:
        safe = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        return 1 + (self.retries if safe else 0)

    def delay(self, attempt: int) -> float:
        return self.backoff * (2 ** attempt)

    def should_retry_response(self, response: httpx.Response) -> bool:
        return response.status_code in (502, 503, 504)

    def failure(self, exc: Exception) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return GatewayTimeout(f"The {self.service} service did not answer in time.", service=self.service)
        return ServiceUnavailable(f"The {self.service} service is unreachable.", service=self.service)


def _headers(extra: dict[str, str] | None, auth: Callable[[], dict[str, str]] | None) -> dict[str, str]:
    headers = dict(auth() if auth else {})
    headers.update(extra or {})
    rid = request_id_var.get()
    if rid:
        headers.setdefault("X-Request-ID", rid)
    return headers


class ServiceClient:
    """Async client for one other service's HTTP API."""

    def __init__(self, service: str, base_url: str, *, timeout: float = 5.0, retries: int = 2,
                 backoff: float = 0.1, transport: httpx.AsyncBaseTransport | None = None,
                 auth: Callable[[], dict[str, str]] | None = None) -> None:
        self.policy = _RetryPolicy(service, retries, backoff)
        self.auth = auth
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def request(self, method: str, path: str, *, idempotent: bool | None = None,
                      headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Send a request; retry transport failures and 502–504 answers of idempotent calls."""
        attempts = self.policy.attempts(method, idempotent)
        for attempt in range(attempts):
            try:
                response = await self.http.request(method, path, headers=_headers(headers, self.auth), **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise self.policy.failure(exc) from exc
            else:
                if attempt + 1 >= attempts or not self.policy.should_retry_response(response):
                    return response
            await asyncio.sleep(self.policy.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()


class SyncServiceClient:
    """Blocking client for one other service, for code that already runs in a worker thread."""

    def __init__(self, service: str, base_url: str, *, timeout: float = 5.0, retries: int = 2,
                 backoff: float = 0.1, transport: httpx.BaseTransport | None = None,
                 auth: Callable[[], dict[str, str]] | None = None) -> None:
        self.policy = _RetryPolicy(service, retries, backoff)
        self.auth = auth
        self.http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def request(self, method: str, path: str, *, idempotent: bool | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Send a request; retry transport failures and 502–504 answers of idempotent calls."""
        attempts = self.policy.attempts(method, idempotent)
        for attempt in range(attempts):
            try:
                response = self.http.request(method, path, headers=_headers(headers, self.auth), **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise self.policy.failure(exc) from exc
            else:
                if attempt + 1 >= attempts or not self.policy.should_retry_response(response):
                    return response
            time.sleep(self.policy.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
