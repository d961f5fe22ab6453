"""The echo upstream that the proxy's tests put behind a gateway, and the gateway settings that point at it."""
from __future__ import annotations

import os
from pathlib import Path

from ..system import ROOT, Process, free_port


def start_echo(workdir: Path, secret: str) -> tuple[Process, dict[str, str]]:
    """Start the echo upstream; return it and a gateway's environment: echo as `calculation`, the others dead."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    echo = Process("echo", "tests.gateway.echo_app:create_app", free_port(), env, workdir / "echo.log")
    echo.start()
    dead = f"http://127.0.0.1:{free_port()}"
    return echo, {**env, "GATEWAY_JWT_SECRET": secret, "GATEWAY_CALCULATION_URL": echo.url,
                  "GATEWAY_INTAKE_URL": dead, "GATEWAY_ELIGIBILITY_URL": dead, "GATEWAY_DISBURSEMENT_URL": dead,
                  "GATEWAY_READ_TIMEOUT_S": "1"}
