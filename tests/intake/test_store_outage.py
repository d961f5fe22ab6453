"""The object store goes away: readiness turns red, uploads are a 503 with nothing kept, and all recovers by itself."""
from __future__ import annotations

import time

import httpx

from ..factories import pdf_bytes
from ..system import MotoS3
from ..test_slice import register


def test_an_object_store_outage_is_a_503_and_intake_recovers(system):
    store = MotoS3(system.workdir)
    store.start()
    intake = system.spawn("intake", INTAKE_S3_ENDPOINT=store.endpoint, INTAKE_S3_BUCKET="outage-test",
                          INTAKE_S3_ACCESS_KEY="testing", INTAKE_S3_SECRET_KEY="testing")
    try:
        applicant_client, applicant = register(system)
        direct = httpx.Client(base_url=intake.url, headers=applicant_client.headers, timeout=60)
        app_id = direct.post("/applications", json={"applicant_id": applicant["id"],
                                                    "project_type": "platform_construction"}).json()["id"]

        def upload():
            return direct.post(f"/applications/{app_id}/documents", params={"kind": "invoice", "filename": "a.pdf"},
                               content=pdf_bytes())

        kept = upload()
        assert kept.status_code == 201
        store.stop()
        ready = httpx.get(f"{intake.url}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["checks"]["object_store"].startswith("unavailable")
        refused = upload()
        assert refused.status_code == 503 and refused.json()["service"] == "object_store"
        assert len(direct.get(f"/applications/{app_id}/documents").json()) == 1
        unreadable = direct.get(f"/applications/{app_id}/documents/{kept.json()['id']}/content")
        assert unreadable.status_code == 503 and unreadable.json()["service"] == "object_store"
        store.start()  # the same port, an empty server: the bucket is made again
        deadline = time.monotonic() + 30
        while httpx.get(f"{intake.url}/readyz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "intake did not become ready again"
            time.sleep(0.3)
        assert upload().status_code == 201
        direct.close()
    finally:
        intake.stop()
        store.stop()
