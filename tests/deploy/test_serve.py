"""The run command (deploy/serve.py): each worker on a listening socket of its own, the gateway under SCHED_BATCH,
a taken port refused at once, a dead worker replaced. Real processes on loopback ports."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.harness import children_of
from tests.system import ROOT, Process, free_port, stop_gracefully, wait_http

ECHO_APP = "tests.gateway.echo_app:create_app"


def echo(tmp_path: Path, port: int, workers: int) -> Process:
    """The echo app under the run command (not started)."""
    return Process("echo", ECHO_APP, port, {**os.environ, "PYTHONPATH": str(ROOT)}, tmp_path / "serve.log",
                   options=["--workers", str(workers)])


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_sockets(pid: int, port: int, state: str) -> set[str]:
    """The inodes of a process's IPv4 TCP sockets with `port` as local port, in a state of /proc/net/tcp (0A
    listening, 01 established)."""
    owned = _socket_inodes(pid)
    found = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state and fields[9] in owned:
            found.add(fields[9])
    return found


def wait_for_workers(pid: int, port: int, count: int, timeout: float = 30) -> list[int]:
    """Wait until `count` workers each listen on the port on a socket of their own (uvicorn's `--workers` shares
    one among them); their pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listening = {worker: tcp_sockets(worker, port, "0A") for worker in children_of(pid)}
        listening = {worker: inodes for worker, inodes in listening.items() if inodes}
        if len(listening) == count and len(set().union(*listening.values())) == count:
            return list(listening)
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not come to listen on {port} on sockets of their own")


def wait_exited(pid: int, timeout: float = 10) -> None:
    """Wait until a killed process has exited (its sockets closed): a zombie until its parent reaps it, or gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if "\tZ" in Path(f"/proc/{pid}/status").read_text():
                return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit")


@pytest.fixture
def echo_with_two_workers(tmp_path):
    """The echo app under the run command with two workers: (supervisor, port)."""
    process = echo(tmp_path, free_port(), workers=2)
    process.start()
    try:
        yield process.proc, process.port
    finally:
        process.stop()


def test_connections_opened_together_spread_over_the_workers(echo_with_two_workers):
    proc, port = echo_with_two_workers
    workers = wait_for_workers(proc.pid, port, 2)  # each on a listening socket of its own
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]  # opened at once, as a pool does
    try:
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")  # every connection is served
        held = [len(tcp_sockets(worker, port, "01")) for worker in workers]
        # the kernel hashes them over the two sockets: fewer than 4 on one has a chance of about 3 in a million.
        # uvicorn's shared socket gave 31 of 32 to one worker when measured
        assert sum(held) == 32 and min(held) >= 4, held
    finally:
        for client in clients:
            client.close()


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(echo_with_two_workers):
    proc, port = echo_with_two_workers
    first, second = wait_for_workers(proc.pid, port, 2)
    os.kill(first, signal.SIGKILL)
    wait_exited(first)
    for _ in range(20):  # the other worker answers meanwhile: new connections go to the sockets still listening
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    replaced = wait_for_workers(proc.pid, port, 2)
    assert second in replaced and first not in replaced


def test_a_port_already_taken_is_refused_at_once(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        process = echo(tmp_path, port, workers=2)
        started = time.monotonic()
        try:
            with pytest.raises(RuntimeError, match="exited with 3"):
                process.start()  # uvicorn's startup failure, not a supervisor restarting workers forever
        finally:
            process.stop()
        assert process.proc.returncode == 3 and time.monotonic() - started < 20
        assert f"cannot listen on 127.0.0.1:{port}" in process.logs()
    finally:
        taken.close()


def test_the_gateway_runs_under_sched_batch_and_the_services_do_not(system):
    gateway = system.processes["gateway"]
    assert os.sched_getscheduler(gateway.proc.pid) == os.SCHED_BATCH
    for service in ("intake", "eligibility", "calculation", "disbursement"):
        assert os.sched_getscheduler(system.processes[service].proc.pid) == os.SCHED_OTHER
    assert system.client.get("/healthz").status_code == 200


def test_the_entrypoint_runs_the_gateway_with_its_workers_batch_scheduled(system, tmp_path):
    port = free_port()
    env = {**system.processes["gateway"].env, "PORT": str(port), "WORKERS": "2",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with (tmp_path / "gateway.log").open("ab") as out:
        proc = subprocess.Popen(["sh", str(ROOT / "deploy" / "entrypoint.sh"), "gateway"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, tmp_path / "gateway.log")
        workers = wait_for_workers(proc.pid, port, 2)
        assert all(os.sched_getscheduler(worker) == os.SCHED_BATCH for worker in workers)
        token = system.token("city_officer")
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/calculation/healthz",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["service"] == "calculation"
    finally:
        stop_gracefully(proc)
    assert proc.returncode == 0  # SIGTERM stops the supervisor and its workers in order
