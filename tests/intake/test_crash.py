"""A service killed mid-run: no accepted request is lost, no half-written row or orphan object remains."""
from __future__ import annotations

import socket
import time

from ..factories import pdf_bytes
from ..test_slice import register, submitted_platform_application, wait_for
from .test_uploads import stored_objects

MiB = 1024 * 1024


def test_intake_killed_mid_upload_keeps_nothing_of_it(system):
    client, applicant = register(system)
    app_id = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction"}).json()["id"]
    objects_before = stored_objects(system)
    intake = system.processes["intake"]
    with socket.create_connection(("127.0.0.1", intake.port), timeout=10) as sock:
        sock.sendall((f"POST /applications/{app_id}/documents?kind=invoice&filename=crash.pdf HTTP/1.1\r\n"
                      f"Host: test\r\n{('Authorization: ' + client.headers['Authorization'])}\r\n"
                      f"Content-Length: {40 * MiB}\r\n\r\n").encode())
        sock.sendall(pdf_bytes("crash") + b"x" * (12 * MiB))
        time.sleep(0.5)
        intake.kill()
    intake.start()
    assert client.get(f"/api/v1/intake/applications/{app_id}/documents").json() == []
    assert stored_objects(system) == objects_before


def test_a_submission_accepted_just_before_a_crash_is_still_evaluated(system):
    client, _, application = submitted_platform_application(system)
    system.processes["intake"].kill()
    system.processes["intake"].start()
    done = wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                    lambda a: a["evaluation_status"] == "done")
    assert done["status"] == "submitted" and done["computation"]["amount"] == "100000.00"
