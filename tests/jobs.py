"""Following a job through the API: the 202 answer's Location polled until the job ends."""
from __future__ import annotations

import time


def wait_for_job(client, accepted, timeout: float = 120.0) -> dict:
    """The ended job (succeeded or failed) that a 202 answer started."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert accepted.json()["url"] == location
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job never ended; last: {job}"
        time.sleep(0.2)
