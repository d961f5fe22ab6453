"""Events to integration systems: signed, in order per application, delivered at least once across a restart."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common.webhooks import sign

from ..test_slice import submitted_platform_application, wait_for


class Receiver:
    """A webhook endpoint on loopback that records what it gets and can be told to fail."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events_for(self, resource_id: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received if json.loads(r["body"])["resource"]["id"] == resource_id]


def test_signed_ordered_at_least_once_across_a_restart(system):
    receiver = Receiver()
    city = system.client_for("city_officer")
    created = city.post("/api/v1/intake/webhooks", json={
        "url": receiver.url, "event_types": ["application.submitted", "evaluation.ready", "application.passed"]})
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["secret"].startswith("whsec_")
    assert all(s["secret"] is None for s in city.get("/api/v1/intake/webhooks").json())  # shown once only
    bad = city.post("/api/v1/intake/webhooks", json={"url": receiver.url, "event_types": ["plan.published"]})
    assert bad.status_code == 422

    _, _, application = submitted_platform_application(system)
    events = wait_for(lambda: receiver.events_for(application["id"]), lambda e: len(e) >= 2)
    assert [e["type"] for e in events] == ["application.submitted", "evaluation.ready"]
    assert events[1]["data"]["outcome"] == "eligible" and events[1]["data"]["amount"] == "100000.00"
    for record in receiver.received:
        headers = {k.lower(): v for k, v in record["headers"].items()}
        expected = sign(subscription["secret"], headers["webhook-id"], int(headers["webhook-timestamp"]),
                        record["body"])
        assert headers["webhook-signature"] == expected

    # the receiver goes down, intake crashes with deliveries pending, both come back: nothing is lost
    receiver.failing = True
    officer = system.client_for("district_officer", district_code="210202")
    assert officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                        json={"decision": "pass"}).status_code == 200
    deliveries = f"/api/v1/intake/webhooks/{subscription['id']}/deliveries"
    wait_for(lambda: city.get(deliveries).json()["items"],
             lambda items: any(d["event_type"] == "application.passed" and d["attempts"] >= 1 for d in items))
    system.processes["intake"].kill()
    receiver.failing = False
    system.processes["intake"].start()
    passed = wait_for(lambda: receiver.events_for(application["id"]), lambda e: len(e) >= 3, timeout=40)
    assert [e["type"] for e in passed][-1] == "application.passed"
    # the receiver has it; the sender records the 2xx right after
    log = wait_for(lambda: [d for d in city.get(deliveries).json()["items"] if d["event_type"] == "application.passed"][0],
                   lambda d: d["status"] == "delivered")
    assert log["attempts"] >= 2
    assert log["attempt_log"][0]["status"] == 503
