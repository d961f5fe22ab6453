"""The gateway's instructions per proxied GET, counted by valgrind's callgrind: the figure that does not move with the
machine's speed or its neighbours (the same code gives the same count to ±1 %), for comparing two versions of the
data path. One gateway worker runs under callgrind with counting off while it starts; counting is switched on for a
20 s run at 16 connections to the trivial endpoint (2 workers) and the total divided by the requests answered. It
counts the gateway's own user-space instructions, not the kernel's socket work, and the process runs ~50× slower
under callgrind, so only the count is a figure, not the speed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from common.auth import mint_token

from .gateway_bench import gateway_options
from .harness import ROOT, Server, free_port, wait_until_up, wrk

SECONDS = 20


def run() -> list[str]:
    """Count the instructions; return the report lines."""
    if shutil.which("valgrind") is None:
        return ["gateway instructions: skipped, valgrind is not installed (apt-get install valgrind)"]
    secret = uuid.uuid4().hex * 2
    token = mint_token(secret, "bench", "city_officer", issuer="fundflow", audience="fundflow-api", ttl_s=3600)
    auth = {"Authorization": f"Bearer {token}"}
    with tempfile.TemporaryDirectory() as tmp:
        ping = Server("bench.ping_app:create_app", {"PING_JWT_SECRET": secret}, 2).wait("/ping")
        port = free_port()
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_JWT_SECRET": secret, "GATEWAY_CALCULATION_URL": ping.url,
               "GATEWAY_DATA_DIR": str(Path(tmp) / "gw"), "GATEWAY_RATE_LIMIT_PER_S": "1000000",
               "GATEWAY_RATE_LIMIT_BURST": "1000000"}
        gateway = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable,
             "-m", "deploy.serve", "gateway", "--port", str(port), *gateway_options()],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/healthz", timeout=300)  # slow to start under valgrind
            wrk(url + "/api/v1/calculation/ping", connections=16, seconds=5, headers=auth)  # connections pooled, warm
            subprocess.run(["callgrind_control", "-i", "on", str(gateway.pid)], check=True, capture_output=True)
            load = wrk(url + "/api/v1/calculation/ping", connections=16, seconds=SECONDS, headers=auth)
            subprocess.run(["callgrind_control", "-i", "off", str(gateway.pid)], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "-d", str(gateway.pid)], check=True, capture_output=True)
        finally:
            gateway.terminate()
            gateway.wait(60)
            ping.stop()
        total = max(_totals(Path(tmp)))
    requests = load.requests
    return [f"gateway instructions per proxied GET (callgrind, one worker, 16 connections, {requests:,.0f} requests "
            f"counted): {total / requests:,.0f}"]


def _totals(folder: Path):
    """The instruction totals of the dumps callgrind wrote."""
    for dump in folder.glob("callgrind.out*"):
        for line in dump.read_text(errors="replace").splitlines():
            match = re.match(r"(?:summary|totals): (\d+)", line)
            if match:
                yield int(match.group(1))
