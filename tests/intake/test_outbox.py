"""The evaluation outbox: a submission succeeds whoever is down, its evaluation shows pending, and arrives later."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.audit import text_digest
from common.db import json_text

from ..test_slice import submitted_platform_application, wait_for


class Refusing(BaseHTTPRequestHandler):
    """Stands in for a service that is up but answers every call with a 503."""

    def do_POST(self):  # noqa: N802 - the http.server hook's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"status": 503, "detail": "maintenance"}).encode()
        self.send_response(503)
        self.send_header("content-type", "application/problem+json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_outbox_delivers_after_eligibility_comes_back(system):
    eligibility = system.processes["eligibility"]
    eligibility.kill()
    stand_in = None
    try:
        client, _, application = submitted_platform_application(system)
        url = f"/api/v1/intake/applications/{application['id']}"
        # the submission succeeded at once, its evaluation queued in the same transaction
        assert application["status"] == "submitted" and application["evaluation_status"] == "pending"
        assert application["evaluation"] is None and application["evaluation_attempts"] == 0
        down = wait_for(lambda: client.get(url).json(), lambda a: a["evaluation_status"] == "failed_retrying")
        assert down["evaluation_attempts"] >= 1 and "eligibility" in down["evaluation_error"]
        # up but answering 503: a non-2xx answer is a failure to retry too, never an evaluation
        stand_in = ThreadingHTTPServer(("127.0.0.1", eligibility.port), Refusing)
        threading.Thread(target=stand_in.serve_forever, daemon=True).start()
        refused = wait_for(lambda: client.get(url).json(),
                           lambda a: a["evaluation_error"] == "eligibility answered 503 to POST /evaluations/batch")
        assert refused["evaluation_status"] == "failed_retrying" and refused["evaluation"] is None
        assert refused["evaluation_attempts"] > down["evaluation_attempts"]
        stand_in.shutdown()
        stand_in.server_close()
        stand_in = None
    finally:
        if stand_in is not None:
            stand_in.shutdown()
            stand_in.server_close()
        eligibility.start()
    done = wait_for(lambda: client.get(url).json(), lambda a: a["evaluation_status"] == "done")
    assert done["evaluation"]["outcome"] == "eligible" and done["computation"]["amount"] == "100000.00"
    assert done["evaluation_attempts"] > refused["evaluation_attempts"] and done["evaluation_error"] is None
    assert done["status"] == "submitted"  # the evaluation changed nothing of the application itself
    # every attempt stored is in the audit trail, by the service; the answers recorded by their digests
    city = system.client_for("city_officer")
    trail = city.get("/api/v1/intake/audit-events", params={
        "resource_type": "application", "resource_id": application["id"], "limit": 100}).json()["items"]
    events = [e for e in trail if e["actor"] == "system"]
    assert [e["action"] for e in events] == ["update"] * len(events) and {e["role"] for e in events} == {"service"}
    assert len(events) == done["evaluation_attempts"]
    assert events[0]["after"]["evaluation_status"] == "failed_retrying"
    assert "eligibility" in events[0]["after"]["evaluation_error"]
    stored = events[-1]
    assert stored["after"]["evaluation_status"] == "done" and stored["after"]["evaluation_error"] is None
    assert stored["before"]["evaluation"] is None
    assert stored["after"]["evaluation"] == text_digest(json_text(done["evaluation"]))
    assert stored["after"]["computation"] == text_digest(json_text(done["computation"]))
    assert city.get("/api/v1/intake/audit-events/verify").json()["valid"] is True


def test_a_resubmission_is_evaluated_on_its_new_content(system):
    client, _, application = submitted_platform_application(system, district="210204")
    url = f"/api/v1/intake/applications/{application['id']}"
    first = wait_for(lambda: client.get(url).json(), lambda a: a["evaluation_status"] == "done")
    assert first["computation"]["amount"] == "100000.00"
    officer = system.client_for("district_officer", district_code="210204")
    assert officer.post(f"{url}/review", json={"decision": "return", "reason": "发票金额有误"}).status_code == 200
    content = first["content"]
    content["f3_expenses"] = [content["f3_expenses"][0]]  # only the 120,000.00 server purchase is kept
    assert client.put(f"{url}/content", json={"content": content}).status_code == 200
    again = client.post(f"{url}/submit").json()
    assert again["status"] == "submitted" and again["version"] == 2 and again["evaluation_attempts"] == 0
    done = wait_for(lambda: client.get(url).json(),
                    lambda a: a["evaluation_status"] == "done" and a["computation"]["amount"] == "60000.00")
    assert done["evaluation"]["outcome"] == "eligible"
