"""The machine's speed against issue 7's reference point: a bare FastAPI `GET /ping`, 1 worker, 32 connections.

The issue measured ~7,700 req/s for it under uvicorn with uvloop and httptools on its 2-core machine. The targets in
seconds and milliseconds (pre-check, batch, plan, listing) are absolute, so they scale with this figure; the ratios
(gateway, upload) are taken within one run and do not."""
from __future__ import annotations

from .harness import Server, median_load, wrk

REFERENCE_RPS = 7_700  # issue 7: "A FastAPI GET /ping under uvicorn, 1 worker ... ~7,700 req/s with uvloop+httptools"
ROUNDS = 3


def run(seconds: int = 5, again: bool = False) -> list[str]:
    """Measure the bare /ping; return the report lines (`again`: the same at the end of a run, to show the drift)."""
    ping = Server("bench.ping_app:create_bare_app", {}).wait("/ping")
    try:
        wrk(ping.url + "/ping", seconds=1)
        loads = [wrk(ping.url + "/ping", seconds=seconds) for _ in range(ROUNDS)]
    finally:
        ping.stop()
    median = median_load(loads)
    if again:
        # a shared machine's speed moves with its neighbours' load: the sections in between ran somewhere between
        return [f"machine, again at the end: {median.rps:,.0f} req/s [{min(x.rps for x in loads):,.0f}–"
                f"{max(x.rps for x in loads):,.0f}], {median.rps / REFERENCE_RPS:.2f} of the reference"]
    return [f"machine: bare FastAPI GET /ping, 1 worker, 32 connections, median of {ROUNDS} {seconds}s runs: "
            f"{median.rps:,.0f} req/s [{min(x.rps for x in loads):,.0f}–{max(x.rps for x in loads):,.0f}], "
            f"{median.rps / REFERENCE_RPS:.2f} of the issue's reference machine ({REFERENCE_RPS:,} req/s)",
            "  (the absolute targets below, in s and ms, were set on that machine: they scale with this figure)"]
