"""Per-caller rate limiting and request-body limits for the data path."""
from __future__ import annotations

import math
import re
import time


class RateLimiter:
    """Token buckets keyed by caller: `rate` requests per second on average, `burst` at once."""

    PRUNE_EVERY = 10_000

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._calls = 0

    def acquire(self, key: str) -> float:
        """0 when the request may pass; otherwise the seconds to wait before retrying."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        self._calls += 1
        if self._calls % self.PRUNE_EVERY == 0:
            self._prune(now)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        # a bucket idle long enough to be full again holds no information
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def retry_after_header(wait_s: float) -> str:
    """Whole seconds for a Retry-After header (at least 1)."""
    return str(max(1, math.ceil(wait_s)))


class BodyLimits:
    """The largest body each path may send: uploads get a larger allowance than ordinary JSON calls."""

    def __init__(self, default_bytes: int, upload_bytes: int, upload_patterns: list[str]) -> None:
        self.default_bytes = default_bytes
        self.upload_bytes = upload_bytes
        self.upload_patterns = [re.compile(p) for p in upload_patterns]

    def limit_for(self, path: str) -> int:
        """The byte limit of a request path."""
        if any(p.search(path) for p in self.upload_patterns):
            return self.upload_bytes
        return self.default_bytes


class BodyTooLarge(Exception):
    """The client sent more than the route allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit
