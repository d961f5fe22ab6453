"""Process and load-generator plumbing shared by the benchmarks."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A process started by the run command (deploy/serve.py), with its production settings."""

    def __init__(self, app: str, env: dict[str, str], workers: int = 1, log: Path | None = None,
                 options: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "deploy.serve", app, "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(workers), *options]
        self.log = log or Path(os.devnull)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def wait(self, path: str = "/healthz", timeout: float = 30) -> "Server":
        wait_until_up(self.url + path, timeout)
        return self

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_until_up(url: str, timeout: float = 30) -> None:
    """Return once `url` answers without a server error; RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Load:
    """What wrk measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0  # answered during the run


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        raise RuntimeError(f"unreadable wrk latency {text!r}")
    number, unit = match.groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, *, connections: int = 32, seconds: int = 5, headers: dict[str, str] | None = None,
        script: Path | None = None) -> Load:
    """Run wrk against a URL and read its throughput and latency percentiles."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}: {done.stdout[-500:]} {done.stderr[-500:]}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error answers during the run")
    return Load(rps, p50, p99, int(re.search(r"(\d+) requests in", out).group(1)))


def median(values) -> float:
    """The middle value (the upper one of an even count)."""
    values = sorted(values)
    return values[len(values) // 2]


def median_load(samples: list[Load]) -> Load:
    """The median of each figure over several runs."""
    return Load(median(s.rps for s in samples), median(s.p50_ms for s in samples),
                median(s.p99_ms for s in samples))


PG_ADMIN_DSN = os.environ.get("FUNDFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class PgDatabases:
    """Throw-away PostgreSQL databases for one benchmark run (benchmark fixtures, dropped afterwards)."""

    def __init__(self, *names: str) -> None:
        import uuid

        self.prefix = f"ffbench_{uuid.uuid4().hex[:8]}"
        self.names = {name: f"{self.prefix}_{name}" for name in names}

    def __enter__(self) -> "PgDatabases":
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            for name in self.names.values():
                conn.execute(f'CREATE DATABASE "{name}"')
        return self

    def __exit__(self, *exc) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            for name in self.names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, name: str) -> str:
        """The SQLAlchemy URL a service is given."""
        return f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{self.names[name]}"

    def dsn(self, name: str) -> str:
        """The libpq DSN the benchmark's own fixtures write with."""
        return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{self.names[name]}"


class MotoS3:
    """An S3-protocol server (moto's standalone server, as the tests start it) on a loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://{self.endpoint}/moto-api/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def children_of(pid: int) -> list[int]:
    """A process's direct children (a supervisor's workers), from /proc."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(stat: str) -> float:
    """User and system CPU time a process has spent, from the text of its /proc/<pid>/stat."""
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class CpuUse:
    """CPU time (user and system) a process and its direct children (uvicorn's workers) spend during a block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seconds = 0.0

    def _total(self) -> float:
        return sum(cpu_seconds(Path(f"/proc/{pid}/stat").read_text()) for pid in (self.pid, *children_of(self.pid)))

    def __enter__(self) -> "CpuUse":
        self._start = self._total()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = self._total() - self._start

    def per_request(self, requests: float) -> float:
        """Microseconds of CPU per request, over `requests` requests."""
        return self.seconds / requests * 1e6


def postgres_cpu_seconds() -> float:
    """CPU time (user and system) of every PostgreSQL server process on the machine, from /proc."""
    seconds = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if "(postgres)" in text:
            seconds += cpu_seconds(text)
    return seconds


class MachineCpu:
    """CPU time of the PostgreSQL server and the machine's busy share while a block runs (both from /proc)."""

    def __enter__(self) -> "MachineCpu":
        self._postgres, self._machine = postgres_cpu_seconds(), self._ticks()
        return self

    def __exit__(self, *exc) -> None:
        self.postgres_seconds = postgres_cpu_seconds() - self._postgres
        total, idle = (after - before for after, before in zip(self._ticks(), self._machine))
        self.busy = 1 - idle / total if total else 0.0

    @staticmethod
    def _ticks() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class PeakRss:
    """Samples the resident memory of processes while a block runs: the peak growth over the state before it."""

    def __init__(self, *pids: int, every_s: float = 0.01) -> None:
        import threading

        self.pids, self.every_s = pids, every_s
        self.before = {pid: rss_bytes(pid) for pid in pids}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid))

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for pid in self.pids:  # the state at the end counts too, however short the block
            self.peak[pid] = max(self.peak[pid], rss_bytes(pid))

    def growth(self, pid: int) -> int:
        """Peak resident memory during the block minus what the process held before it."""
        return self.peak[pid] - self.before[pid]


def token(secret: str, role: str, subject: str = "bench", **claims) -> str:
    """A token the processes accept, as the gateway's issuer signs it."""
    from common.auth import mint_token

    return mint_token(secret, subject, role, issuer="fundflow", audience="fundflow-api", ttl_s=3600, **claims)
