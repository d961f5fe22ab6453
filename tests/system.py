"""Starts the whole system as real processes on loopback ports: four services, the gateway, and what they need."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from common.auth import mint_token

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "eligibility", "calculation", "disbursement")
PG_ADMIN_DSN = os.environ.get("FUNDFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# Inside the 2024 edition's applicant window (D2 is 2025-12-22), so that submissions are accepted.
DEFAULT_NOW = "2025-12-10T10:00:00+08:00"
ADMIN_PASSWORD = "admin-test-password"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None, log: Path | None, timeout: float = 40.0) -> None:
    """Wait until `url` answers 200, or fail with the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout}s:\n{_tail(log)}")


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop_gracefully(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Process:
    """One process of the system, started by the run command (deploy/serve.py)."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    http: str | None = None  # uvicorn's --http; None: the process's own (deploy/serve.py)
    options: list[str] = field(default_factory=list)  # more of the run command's options (--workers …)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        """Start it and wait for /healthz."""
        env = {**self.env, **(extra_env or {})}
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.serve", self.app, "--host", "127.0.0.1", "--port", str(self.port),
             "--timeout-graceful-shutdown", "3", *(["--http", self.http] if self.http else []), *self.options],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        wait_http(f"{self.url}/healthz", self.proc, self.log)

    def stop(self) -> None:
        """Stop it gracefully (SIGTERM), killing it if it lingers."""
        if self.proc is not None:
            stop_gracefully(self.proc)

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def logs(self) -> str:
        """Everything the process wrote."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class PostgresDatabases:
    """Throw-away PostgreSQL databases, one per service, unique to this run."""

    def __init__(self) -> None:
        self.prefix = f"fft_{uuid.uuid4().hex[:10]}"
        self.names = {s: f"{self.prefix}_{s}" for s in SERVICES + ("gateway",)}

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            for name in self.names.values():
                conn.execute(f'CREATE DATABASE "{name}"')

    def url(self, service: str) -> str:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self.names[service]}"

    def drop(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            for name in self.names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MotoS3:
    """A real S3-protocol server (moto's standalone server) on a loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "moto.log"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=handle, stderr=subprocess.STDOUT,
                                     env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"})
        handle.close()
        wait_http(f"http://{self.endpoint}/moto-api/", self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@dataclass
class System:
    """The running system: its processes, its backing stores, and an HTTP client at the gateway."""

    backend: str
    workdir: Path
    now: str = DEFAULT_NOW
    processes: dict[str, Process] = field(default_factory=dict)
    pg: PostgresDatabases | None = None
    s3: MotoS3 | None = None
    client: httpx.Client | None = None
    jwt_secret: str = field(default_factory=lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    _clients: list[httpx.Client] = field(default_factory=list)
    _extra: list[Process] = field(default_factory=list)

    def service_env(self, service: str) -> dict[str, str]:
        """Environment of one service process."""
        prefix = service.upper()
        env = {
            f"{prefix}_ENVIRONMENT": "test",
            f"{prefix}_DATA_DIR": str(self.workdir / service),
            f"{prefix}_FIXED_NOW": self.now,
            f"{prefix}_LOG_LEVEL": "info",
            f"{prefix}_JWT_SECRET": self.jwt_secret,
        }
        for other in SERVICES:
            if other != service:
                env[f"{prefix}_{other.upper()}_URL"] = self.processes[other].url
        if self.pg is not None:
            env[f"{prefix}_DATABASE_URL"] = self.pg.url(service)
        # a job whose process was killed is taken over within seconds (the default lease is 30 s)
        env[f"{prefix}_JOB_LEASE_S"] = "3"
        if service == "intake":
            # retries come quickly in tests: a service that comes back is noticed within a second
            env.update({"INTAKE_OUTBOX_POLL_S": "0.2", "INTAKE_OUTBOX_MAX_BACKOFF_S": "1",
                        # room for the 200 MB upload test; the default limit (50 MB) is tested on its own
                        "INTAKE_MAX_UPLOAD_BYTES": str(210 * 1024 * 1024)})
        if service == "intake" and self.s3 is not None:
            env.update({"INTAKE_S3_ENDPOINT": self.s3.endpoint, "INTAKE_S3_BUCKET": f"docs-{uuid.uuid4().hex[:8]}",
                        "INTAKE_S3_ACCESS_KEY": "testing", "INTAKE_S3_SECRET_KEY": "testing"})
        return env

    def start(self) -> None:
        """Bring up the stores, the four services and the gateway."""
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(tuple(s.upper() + "_" for s in SERVICES + ("gateway",)))}
        base_env["PYTHONPATH"] = str(ROOT)
        if self.backend == "postgresql":
            self.pg = PostgresDatabases()
            self.pg.create()
            self.s3 = MotoS3(self.workdir)
            self.s3.start()
        for service in SERVICES:
            self.processes[service] = Process(service, f"services.{service}.app:create_app", free_port(), {},
                                              self.workdir / f"{service}.log")
        self.processes["gateway"] = Process("gateway", "gateway.app:create_app", free_port(), {},
                                            self.workdir / "gateway.log")
        for service in SERVICES:
            self.processes[service].env = {**base_env, **self.service_env(service)}
        self.processes["gateway"].env = {
            **base_env, "GATEWAY_READ_TIMEOUT_S": "10", "GATEWAY_JWT_SECRET": self.jwt_secret,
            "GATEWAY_ENVIRONMENT": "test", "GATEWAY_DATA_DIR": str(self.workdir / "gateway"),
            "GATEWAY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # tests share one token per role: a limit high enough not to throttle them (a test lowers it)
            "GATEWAY_RATE_LIMIT_PER_S": "5000", "GATEWAY_RATE_LIMIT_BURST": "10000",
            **({"GATEWAY_DATABASE_URL": self.pg.url("gateway")} if self.pg else {}),
            **{f"GATEWAY_{s.upper()}_URL": self.processes[s].url for s in SERVICES}}
        for process in self.processes.values():
            process.start()
        self.client = httpx.Client(base_url=self.gateway_url, timeout=30.0)

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of a process's own database, for tests that must reach under the API."""
        if self.pg is not None:
            return self.pg.url(name)
        return f"sqlite:///{self.workdir / name / (name + '.db')}"

    def spawn(self, name: str, app: str | None = None, **env: str) -> Process:
        """Start one more process like `name` (same env, a new port), with some settings changed."""
        model = self.processes[name]
        index = len(self._extra)
        process = Process(f"{name}-extra{index}", app or model.app, free_port(), {**model.env, **env},
                          self.workdir / f"{name}-extra{index}.log")
        self._extra.append(process)
        process.start()
        return process

    def token(self, role: str, subject: str | None = None, *, unit_uscc: str | None = None,
              district_code: str | None = None, ttl_s: int = 900) -> str:
        """A token the system accepts, as its issuer would sign it."""
        return mint_token(self.jwt_secret, subject or f"test-{role}", role, issuer="fundflow",
                          audience="fundflow-api", ttl_s=ttl_s, unit_uscc=unit_uscc, district_code=district_code)

    def client_for(self, role: str, subject: str | None = None, *, unit_uscc: str | None = None,
                   district_code: str | None = None, direct: str | None = None) -> httpx.Client:
        """An HTTP client acting as `role`, at the gateway (or straight at service `direct`)."""
        token = self.token(role, subject, unit_uscc=unit_uscc, district_code=district_code)
        client = httpx.Client(base_url=self.url(direct) if direct else self.gateway_url, timeout=30.0,
                              headers={"Authorization": f"Bearer {token}"})
        self._clients.append(client)
        return client

    @property
    def gateway_url(self) -> str:
        return self.processes["gateway"].url

    def url(self, service: str) -> str:
        """Direct URL of a service, around the gateway."""
        return self.processes[service].url

    def stop(self) -> None:
        """Stop everything and drop what the run created."""
        for client in [self.client, *self._clients]:
            if client is not None:
                client.close()
        for process in [*self._extra, *self.processes.values()]:
            process.stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.drop()


def new_workdir(backend: str) -> Path:
    """A fresh folder for one system's data and logs."""
    return Path(tempfile.mkdtemp(prefix=f"fundflow-{backend}-"))


def remove_workdir(path: Path) -> None:
    """Delete a system's folder."""
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def private_system(request) -> Iterator[System]:
    """A whole system of its own, for a test that must do what the shared one may not (wipe it, move its clocks);
    its folder (logs, data) is kept when a test of the session failed."""
    workdir = new_workdir(f"own-{request.param}")
    system = System(backend=request.param, workdir=workdir)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        if not request.session.testsfailed:
            remove_workdir(workdir)
