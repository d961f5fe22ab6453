"""Gateway overhead: a trivial authenticated endpoint called directly and through the gateway, side by side."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from common.auth import mint_token

from .harness import CpuUse, Load, Server, median, median_load, wrk

TARGETS = {1: 0.90, 2: 0.60}  # issue 7: ratio of gateway to direct req/s, by workers per process
ADDED_P50_MS = 1.5  # issue 7: added p50 latency at 32 connections
# short runs, many alternations: this shared machine's speed drifts by ±15 % from one run to the next, so each gateway
# run is compared with the direct run just before it, and the median over the pairs is reported
ROUNDS = 5


def run(seconds: int = 3) -> list[str]:
    """Measure direct vs gateway with 1 and 2 workers; return the report lines."""
    secret = uuid.uuid4().hex * 2
    token = mint_token(secret, "bench", "city_officer", issuer="fundflow", audience="fundflow-api", ttl_s=3600)
    auth = {"Authorization": f"Bearer {token}"}
    lines = [f"gateway overhead (32 connections, wrk 1 thread, {ROUNDS} alternating pairs of {seconds}s runs;"
             f" ratio and added p50: median over the pairs [range]; targets: ratio ≥ {TARGETS[1]:.2f} / "
             f"{TARGETS[2]:.2f}, added p50 ≤ {ADDED_P50_MS} ms)",
             f"  {'workers':>7} {'direct req/s':>13} {'gateway req/s':>14} {'ratio':>17} {'p50 direct':>11}"
             f" {'p50 gw':>8} {'added p50':>19}"]
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            ping = Server("bench.ping_app:create_app", {"PING_JWT_SECRET": secret}, workers).wait("/ping")
            gateway = Server("gateway.app:create_app", {
                "GATEWAY_JWT_SECRET": secret, "GATEWAY_CALCULATION_URL": ping.url,
                "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"), "GATEWAY_RATE_LIMIT_PER_S": "1000000",
                "GATEWAY_RATE_LIMIT_BURST": "1000000"}, workers, log=Path(tmp) / "gateway.log",
                options=gateway_options()).wait()
            try:
                direct, proxied = [], []
                cpu = {"service direct": [], "service": [], "gateway": []}  # µs of CPU per request, per run
                wrk(ping.url + "/ping", seconds=1, headers=auth)  # warm both paths
                wrk(gateway.url + "/api/v1/calculation/ping", seconds=1, headers=auth)
                for _ in range(ROUNDS):
                    with CpuUse(ping.proc.pid) as service:
                        direct.append(wrk(ping.url + "/ping", seconds=seconds, headers=auth))
                    cpu["service direct"].append(service.per_request(direct[-1].rps * seconds))
                    with CpuUse(ping.proc.pid) as service, CpuUse(gateway.proc.pid) as own:
                        proxied.append(wrk(gateway.url + "/api/v1/calculation/ping", seconds=seconds, headers=auth))
                    cpu["service"].append(service.per_request(proxied[-1].rps * seconds))
                    cpu["gateway"].append(own.per_request(proxied[-1].rps * seconds))
            finally:
                gateway.stop()
                ping.stop()
        lines.append(_row(workers, direct, proxied))
        lines.append("          CPU per request (median): " + ", ".join(
            f"{name} {median(values):.0f} µs" for name, values in cpu.items()))
    return lines


def gateway_options() -> list[str]:
    """The run command's own settings for the gateway, unless the environment names others to compare:
    FUNDFLOW_BENCH_GATEWAY_HTTP=httptools (the ASGI path alone), FUNDFLOW_BENCH_GATEWAY_SCHEDULING=normal."""
    options = []
    if os.environ.get("FUNDFLOW_BENCH_GATEWAY_HTTP"):
        options += ["--http", os.environ["FUNDFLOW_BENCH_GATEWAY_HTTP"]]
    if os.environ.get("FUNDFLOW_BENCH_GATEWAY_SCHEDULING"):
        options += ["--scheduling", os.environ["FUNDFLOW_BENCH_GATEWAY_SCHEDULING"]]
    return options


def _row(workers: int, direct: list[Load], proxied: list[Load]) -> str:
    d, g = median_load(direct), median_load(proxied)
    ratios = sorted(gw.rps / dr.rps for dr, gw in zip(direct, proxied))
    added = sorted(gw.p50_ms - dr.p50_ms for dr, gw in zip(direct, proxied))
    ratio, added_p50 = median(ratios), median(added)
    verdict = "ok" if ratio >= TARGETS[workers] and added_p50 <= ADDED_P50_MS else "BELOW"
    return (f"  {workers:>7} {d.rps:>13,.0f} {g.rps:>14,.0f} {ratio:>5.2f} [{ratios[0]:.2f}–{ratios[-1]:.2f}]"
            f" {d.p50_ms:>9.2f}ms {g.p50_ms:>6.2f}ms {added_p50:>6.2f}ms [{added[0]:.2f}–{added[-1]:.2f}]  {verdict}")
