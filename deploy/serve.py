"""The run command of every process: uvicorn with the production settings of each, its workers each on a listening
socket of its own.

    python -m deploy.serve gateway|intake|eligibility|calculation|disbursement|<module:factory>
        [--host 127.0.0.1] [--port 8000] [--workers 1] [--http …] [--scheduling normal|batch]

The Procfile (`make run`), the container entrypoint (so compose and Kubernetes), the tests and the benchmarks all
start their processes with it, so that what is tested and measured is what runs.

- **One socket per worker.** uvicorn's `--workers` shares one listening socket among its workers, and the worker
  that wakes first accepts every connection waiting (libuv accepts until the queue is empty). Clients that open their
  keep-alive connections together (the gateway's pool, a load balancer, a load generator) then crowd onto one
  worker while the others idle: as unevenly as 31 of 32 connections on one of two workers, measured. Here each
  worker binds its own socket with SO_REUSEPORT, and the kernel spreads new connections over them by a hash of their
  addresses.
- **The gateway runs under SCHED_BATCH.** It relays: each client request and each upstream answer wakes it for a few
  microseconds of work. Under the default policy every such wake-up preempts whatever runs, usually a service in the
  middle of a request: two context switches per hop. A batch process does not preempt on waking; it runs when the
  CPU's current task yields, and then finds several events ready. Measured with the gateway and a service at two
  workers each on two cores: 0.2 context switches per proxied request instead of 0.7, ~10 % more throughput and a
  lower p50. The services keep the default: they do the work, and a woken service should run at once. Any process
  may choose SCHED_BATCH for itself; it needs no privilege.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
from dataclasses import dataclass

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess


@dataclass(frozen=True)
class RunProfile:
    """How one process runs: its app factory, uvicorn's HTTP protocol for it, and its scheduling policy."""

    app: str
    http: str = "httptools"
    scheduling: str = "normal"


# the gateway's protocol answers plain proxied GETs without an ASGI task (gateway/express.py)
PROFILES = {
    "gateway": RunProfile("gateway.app:create_app", http="gateway.express:ExpressProtocol", scheduling="batch"),
    **{name: RunProfile(f"services.{name}.app:create_app")
       for name in ("intake", "eligibility", "calculation", "disbursement")},
}


def profile_for(target: str) -> RunProfile:
    """The profile of a process named by name or by app factory; an app of none of them gets the defaults."""
    if target in PROFILES:
        return PROFILES[target]
    return next((profile for profile in PROFILES.values() if profile.app == target), RunProfile(target))


def reuse_port_socket(host: str, port: int, backlog: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT, listening unless told not to."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _worker_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A worker's own listening socket; a worker that cannot bind it ends as a startup failure, not restarted."""
    try:
        return reuse_port_socket(host, port, backlog)
    except OSError as exc:
        print(f"worker cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None


class WorkerListener:
    """Stands in for the listening socket uvicorn's supervisor hands each worker it starts: unpickled in the worker
    (uvicorn starts them with multiprocessing's spawn), it becomes a socket of that worker's own."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self):
        return _worker_socket, (self.host, self.port, self.backlog)


def apply_scheduling(policy: str) -> None:
    """Put this process, and the workers it starts (they inherit it), under a scheduling policy."""
    if policy == "normal":
        return
    if not hasattr(os, "sched_setscheduler"):  # not Linux: the default policy is all there is
        print(f"scheduling policy {policy!r} is not available on this system; running with the default",
              file=sys.stderr)
        return
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The run command's options."""
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description="Run one process of the system.")
    parser.add_argument("process", help=f"{'|'.join(PROFILES)}, or an app factory module:function")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http", help="uvicorn's HTTP protocol (default: the process's own)")
    parser.add_argument("--scheduling", choices=("normal", "batch"),
                        help="the process's scheduling policy (default: the process's own)")
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=None,
                        help="seconds open requests get to finish on SIGTERM (default: as long as they take)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve the process: in this one with one worker, under uvicorn's supervisor with more."""
    args = parse_args(argv)
    profile = profile_for(args.process)
    config = uvicorn.Config(profile.app, factory=True, host=args.host, port=args.port, workers=args.workers,
                            loop="uvloop", http=args.http or profile.http, access_log=False,
                            timeout_graceful_shutdown=args.timeout_graceful_shutdown)
    apply_scheduling(args.scheduling or profile.scheduling)
    if args.workers <= 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    try:
        # held, not listening, while the supervisor lives: a port taken by another program fails here, at once,
        # and stays ours while a worker is replaced (a bound socket that does not listen is given no connections)
        holder = reuse_port_socket(args.host, args.port, config.backlog, listen=False)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    with holder:
        Multiprocess(config, sockets=[WorkerListener(args.host, args.port, config.backlog)]).run()


if __name__ == "__main__":
    main()
