"""`make demo` against the test system: the whole programme runs, and the API confirms where it ended."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from .conftest import BACKENDS
from .system import ADMIN_PASSWORD, ROOT, private_system

D = "/api/v1/disbursement"
STAGES = ("Accounts", "Registries", "Applications submitted", "Eligibility and amounts", "District review",
          "District summaries", "Third-party audit", "Spot check", "Allocation plan", "Objection",
          "Payment instructions", "Bank statements", "Reconciliation")


@pytest.fixture(scope="module", params=BACKENDS)
def demo_system(request):
    """A system of its own: the demo moves the services' clocks, which the session's system keeps fixed."""
    with private_system(request) as system:
        yield system


def test_the_demo_runs_the_programme_to_a_balanced_reconciliation(demo_system, tmp_path):
    summary_file = tmp_path / "demo.json"
    run = subprocess.run([sys.executable, "-m", "tools.demo", "--base-url", demo_system.gateway_url,
                          "--admin-password", ADMIN_PASSWORD, "--json-out", str(summary_file)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    positions = [run.stdout.find(title) for title in STAGES]
    assert -1 not in positions and positions == sorted(positions), run.stdout  # every stage's table, in order
    summary = json.loads(summary_file.read_text(encoding="utf-8"))

    finance = demo_system.client_for("finance_officer")
    plan = finance.get(f"{D}/plans/{summary['plan_id']}").json()
    # the fund forced 统筹调整: the plan is the fund, exact to the fen, over every project type
    assert (plan["status"], plan["total"], plan["budget"]) == ("final", "1500000.00", "1500000.00")
    assert plan["scaling_factor"] != "1"
    assert any(step["note"].startswith("over the cap") and step["clause"] == "G1.3.3"
               for step in plan["unit_caps_trace"]), plan["unit_caps_trace"]  # one unit over its cap
    assert {i["project_type"] for i in plan["items"]} == {
        "platform_construction", "platform_operation", "certification", "brand", "interest_subsidy",
        "tcm_construction", "tcm_operation"}
    assert sum(Decimal(i["allocated_amount"]) for i in plan["items"]) == Decimal(plan["total"])
    audited = [finance.get(f"{D}/projects/{i['project_id']}").json() for i in plan["items"]]
    assert [p["audit_opinion"] for p in audited].count("pass_with_adjustments") == 1

    recon = finance.get(f"{D}/plans/{plan['id']}/reconciliation").json()
    assert recon == summary["reconciliation"]
    assert recon["balanced"] is True and recon["treasury"]["status"] == "paid"
    assert recon["total"] == {"planned": plan["total"], "paid": plan["total"], "pending": "0.00", "failed": "0.00",
                              "not_instructed": "0.00"}
    history = {i["id"]: i for i in finance.get(f"{D}/plans/{plan['id']}/payments").json()}
    failed, retry = history[summary["failed_instruction"]], history[summary["retry_instruction"]]
    assert (failed["status"], retry["status"]) == ("failed", "paid")
    assert (retry["retry_of"], retry["attempt"]) == (failed["id"], 2)

    # the cases that fail a rule, the credit list, the duplicate invoice never reached the plan
    city = demo_system.client_for("city_officer")
    rejected = city.get("/api/v1/intake/applications", params={"status": "rejected", "limit": 100}).json()
    clauses = {c["clause"] for a in rejected["items"] for c in a["evaluation"]["checks"] if c["outcome"] != "pass"}
    assert {"G1.1.2", "G4.1.2", "N3.1", "N3.3"} <= clauses
    assert not {a["id"] for a in rejected["items"]} & {i["application_id"] for i in plan["items"]}


def test_only_the_admin_moves_the_programme_clock(demo_system):
    applicant = demo_system.client_for("applicant", unit_uscc="91210202MA0QXXXXXX")
    assert applicant.put("/api/v1/disbursement/dev/clock", json={"now": "2030-01-01T00:00:00+08:00"}).status_code == 403
    admin = demo_system.client_for("admin")
    shown = admin.get("/api/v1/intake/dev/clock")
    assert shown.status_code == 200 and shown.json()["service"] == "intake"


# in a process of its own, as the contract tests build apps: creating one sets up that process's logging
ASK_DEV_CLOCK = """
import asyncio, httpx
from services.calculation.app import create_app
async def ask():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app()), base_url="http://app") as app:
        print("status", (await app.get("/dev/clock")).status_code)
asyncio.run(ask())
"""


def test_the_dev_clock_is_mounted_only_on_a_fixed_clock():
    def status(**env: str) -> str:  # routing answers before any dependency: 404 without the route, 401 with it
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CALCULATION_")}
        run = subprocess.run([sys.executable, "-c", ASK_DEV_CLOCK], cwd=ROOT, env={**clean, **env},
                             capture_output=True, text=True, timeout=60)
        return next(line.split()[1] for line in run.stdout.splitlines() if line.startswith("status "))

    assert status() == "404"  # the wall clock (and so production, which refuses a fixed one)
    assert status(CALCULATION_FIXED_NOW="2025-12-10T10:00:00+08:00") == "401"
