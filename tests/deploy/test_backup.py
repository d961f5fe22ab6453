"""Backup and restore (deploy/backup.py): a system with a cycle's data is backed up, wiped to nothing, restored
and restarted, and everything is found again through the API (documents byte-identical by SHA-256)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from minio import Minio

from ..conftest import BACKENDS
from ..system import ADMIN_PASSWORD, ROOT, SERVICES, System, private_system
from ..test_slice import register, submitted_platform_application, wait_for

PROCESSES = ("gateway", *SERVICES)


@pytest.fixture(scope="module", params=BACKENDS)
def own_system(request):
    """A system of its own: this test wipes it, which the shared one must never be."""
    with private_system(request) as system:
        yield system


def backup_command(system: System, *args: str) -> subprocess.CompletedProcess:
    """`python -m deploy.backup …` with the environment the processes run with (all five of them)."""
    env = {}
    for process in system.processes.values():
        env.update(process.env)
    return subprocess.run([sys.executable, "-m", "deploy.backup", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def big_pdf() -> bytes:
    """A 7 MB document: more than one part of a multipart upload, random enough that a wrong byte shows."""
    lines = [b"%" + os.urandom(512).hex().encode() + b"\n" for _ in range(7 * 1024)]
    return b"".join([b"%PDF-1.4\n", *lines, b"%%EOF\n"])


def minio_client(system: System) -> Minio:
    return Minio(system.s3.endpoint, access_key="testing", secret_key="testing", secure=False)


def snapshot(system: System, seen: dict) -> dict:
    """What the API shows of the data the cycle made, as comparable values."""
    city = system.client_for("city_officer")
    state = {"applications": {}, "documents": {}}
    for app_id, client in seen["applications"].items():
        application = client.get(f"/api/v1/intake/applications/{app_id}").json()
        state["applications"][app_id] = application
        for document in client.get(f"/api/v1/intake/applications/{app_id}/documents").json():
            content = client.get(f"/api/v1/intake/applications/{app_id}/documents/{document['id']}/content")
            assert content.status_code == 200, content.text
            state["documents"][document["id"]] = (document["sha256"], hashlib.sha256(content.content).hexdigest())
        state.setdefault("versions", {})[app_id] = client.get(f"/api/v1/intake/applications/{app_id}/versions").json()
    state["debarments"] = city.get("/api/v1/eligibility/debarments").json()
    state["projects"] = city.get("/api/v1/disbursement/projects").json()
    state["plan"] = city.get(f"/api/v1/disbursement/plans/{seen['plan']}").json()
    admin = system.client_for("admin")
    state["user"] = admin.get("/auth/users/backup-officer").json()
    for service in SERVICES:
        if service != "calculation":
            verified = city.get(f"/api/v1/{service}/audit-events/verify").json()
            assert verified["valid"] is True, (service, verified)
            state[f"audit-{service}"] = verified
    state["audit-gateway"] = admin.get("/auth/audit-events/verify").json()
    return state


def make_cycle(system: System) -> dict:
    """Data in every database: units, applications evaluated and priced, documents, a district's review, a
    debarment, projects and a plan in disbursement, an account in the gateway."""
    seen = {"applications": {}}
    for district in ("210202", "210203"):
        client, _, application = submitted_platform_application(system, district=district)
        wait_for(lambda: client.get(f"/api/v1/intake/applications/{application['id']}").json(),
                 lambda a: a["evaluation_status"] == "done")
        officer = system.client_for("district_officer", district_code=district)
        assert officer.post(f"/api/v1/intake/applications/{application['id']}/review",
                            json={"decision": "pass"}).status_code == 200
        seen["applications"][application["id"]] = client
    client, applicant = register(system)  # a draft keeps its documents open to change: one more, a large one
    app_id = client.post("/api/v1/intake/applications", json={
        "applicant_id": applicant["id"], "project_type": "platform_construction"}).json()["id"]
    seen["applications"][app_id] = client
    seen["big"] = big_pdf()
    uploaded = client.post(f"/api/v1/intake/applications/{app_id}/documents",
                           params={"kind": "invoice", "filename": "发票汇总.pdf"}, content=seen["big"],
                           headers={"Content-Type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.text
    city = system.client_for("city_officer")
    unit = register(system)[1]["uscc"]
    assert city.post("/api/v1/eligibility/debarments", json={
        "uscc": unit, "reason": "伪造材料", "source": "backup test", "starts_on": "2025-01-01"}).status_code == 201
    assert city.post("/api/v1/disbursement/projects/import").json()["imported"] >= 2
    plan = city.post("/api/v1/disbursement/plans", json={"edition": "2024", "budget": "150000.00"})
    assert plan.status_code == 201, plan.text
    seen["plan"] = plan.json()["id"]
    admin = system.client_for("admin")
    created = admin.post("/auth/users", json={"username": "backup-officer", "password": "a long enough password",
                                              "role": "city_officer"})
    assert created.status_code == 201, created.text
    return seen


def wipe(system: System) -> None:
    """Stop every process and leave nothing: empty databases, no bucket, no files."""
    for process in system.processes.values():
        process.stop()
    if system.pg is not None:
        system.pg.drop()
        system.pg.create()
        client = minio_client(system)
        bucket = system.processes["intake"].env["INTAKE_S3_BUCKET"]
        for obj in list(client.list_objects(bucket, recursive=True)):
            client.remove_object(bucket, obj.object_name)
        client.remove_bucket(bucket)
    else:
        for process in PROCESSES:
            shutil.rmtree(system.workdir / process)


def test_backup_wipe_restore_finds_everything(own_system, tmp_path):
    system = own_system
    seen = make_cycle(system)
    before = snapshot(system, seen)
    documents = before["documents"]
    assert len(documents) == 2 * 5 + 1 and all(stored == served for stored, served in documents.values())

    backup = tmp_path / "backup"
    dumped = backup_command(system, "dump", "--to", str(backup))
    assert dumped.returncode == 0, dumped.stderr
    manifest = json.loads((backup / "manifest.json").read_text())
    assert sorted(manifest["databases"]) == sorted(PROCESSES)
    assert all(entry["revision"] and entry["rows"] > 0 for entry in manifest["databases"].values()), manifest
    assert {o["sha256"] for o in manifest["documents"]["objects"]} == {s for s, _ in documents.values()}
    assert hashlib.sha256(seen["big"]).hexdigest() in {o["sha256"] for o in manifest["documents"]["objects"]}
    assert manifest["documents"]["store"] == ("s3" if system.pg else "local")

    # onto a system that holds data, a restore is refused and changes nothing
    refused = backup_command(system, "restore", "--from", str(backup))
    assert refused.returncode == 1 and "restore onto an empty system" in refused.stderr

    wipe(system)
    # as after `docker compose up` or the migration Job: some databases empty, some migrated and without rows
    for module in ("gateway", "services.intake"):
        migrated = subprocess.run([sys.executable, "-m", module, "migrate"], cwd=ROOT, capture_output=True,
                                  text=True, env=system.processes[module.rsplit(".", 1)[-1]].env, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
    restored = backup_command(system, "restore", "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    for name in SERVICES:
        system.processes[name].start()
    system.processes["gateway"].start()

    after = snapshot(system, seen)
    assert after == before
    # the account restored in the gateway logs in with its password; new rows follow the restored ones
    token = system.client.post("/auth/token", data={"grant_type": "password", "username": "backup-officer",
                                                    "password": "a long enough password"})
    assert token.status_code == 200, token.text
    assert system.client.post("/auth/token", data={"grant_type": "password", "username": "admin",
                                                   "password": ADMIN_PASSWORD}).status_code == 200
    client, applicant, application = submitted_platform_application(system)
    assert application["status"] == "submitted" and application["id"] not in seen["applications"]
    city = system.client_for("city_officer")
    assert city.get("/api/v1/intake/audit-events/verify").json()["valid"] is True


def test_a_damaged_backup_is_refused_before_anything_is_written(own_system, tmp_path):
    system = own_system
    backup = tmp_path / "backup"
    assert backup_command(system, "dump", "--to", str(backup)).returncode == 0
    assert backup_command(system, "verify", "--from", str(backup)).returncode == 0
    again = backup_command(system, "dump", "--to", str(backup))
    assert again.returncode == 1 and "not empty" in again.stderr
    manifest = json.loads((backup / "manifest.json").read_text())
    victim = backup / "documents" / manifest["documents"]["objects"][0]["key"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    victim.write_bytes(bytes(data))
    for command in ("verify", "restore"):
        result = backup_command(system, command, "--from", str(backup))
        assert result.returncode == 1 and "damaged" in result.stderr and victim.name in result.stderr
    victim.unlink()
    missing = backup_command(system, "verify", "--from", str(backup))
    assert missing.returncode == 1 and "missing or damaged" in missing.stderr
    # the running system is untouched by the refused restore
    assert system.client_for("city_officer").get("/api/v1/intake/audit-events/verify").json()["valid"] is True


def test_dated_backups_keep_the_newest(tmp_path, monkeypatch, capsys):
    from deploy import backup

    for key in list(os.environ):
        if key.split("_", 1)[0] in {p.upper() for p in PROCESSES}:
            monkeypatch.delenv(key)
    for process in PROCESSES:
        monkeypatch.setenv(f"{process.upper()}_DATA_DIR", str(tmp_path / "data" / process))
        (tmp_path / "data" / process).mkdir(parents=True)
        sqlite3.connect(tmp_path / "data" / process / f"{process}.db").execute("CREATE TABLE t (x)").connection.close()
    (tmp_path / "data" / "intake" / "documents" / "ab").mkdir(parents=True)
    (tmp_path / "data" / "intake" / "documents" / "ab" / "doc").write_bytes(b"%PDF-1.4 evidence")
    (tmp_path / "data" / "intake" / "documents" / "ab" / ".doc.123.partial").write_bytes(b"%PDF half")
    parent = tmp_path / "backups"
    stamps = iter(["2026-01-01T000000Z", "2026-01-02T000000Z", "2026-01-03T000000Z"])
    monkeypatch.setattr(backup, "backup_name", lambda: next(stamps))
    for _ in range(3):
        assert backup.main(["dump", "--in", str(parent), "--keep", "2"]) == 0
    assert sorted(p.name for p in parent.iterdir()) == ["2026-01-02T000000Z", "2026-01-03T000000Z"]
    manifest = backup.verify(parent / "2026-01-03T000000Z")
    # a partial write of the local store is no document
    assert [o["key"] for o in manifest["documents"]["objects"]] == ["ab/doc"]
    assert manifest["documents"]["objects"][0]["sha256"] == hashlib.sha256(b"%PDF-1.4 evidence").hexdigest()
    with pytest.raises(SystemExit):
        backup.main(["dump", "--to", str(tmp_path / "x"), "--keep", "2"])
    assert "--keep" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a/../../b", ""])
def test_a_manifest_naming_files_outside_the_backup_is_refused(tmp_path, key):
    from deploy import backup

    (tmp_path / "manifest.json").write_text(json.dumps({"format": backup.FORMAT, "databases": {}, "documents": {
        "store": "local", "objects": [{"key": key, "bytes": 1, "sha256": "0" * 64}]}}))
    with pytest.raises(backup.BackupError, match="not a plain relative path"):
        backup.verify(tmp_path)
