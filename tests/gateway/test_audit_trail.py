"""The hash-chained audit trail, shown on the gateway's account changes (every service has the same mechanism)."""
from __future__ import annotations

import uuid

import sqlalchemy as sa


def test_account_changes_are_audited_with_actor_request_id_and_masked_secrets(system):
    admin = system.client_for("admin", "root-admin")
    name = f"auditee-{uuid.uuid4().hex[:6]}"
    created = admin.post("/auth/users", headers={"X-Request-ID": f"rid-{name}"}, json={
        "username": name, "password": "a long enough secret", "role": "expert"})
    assert created.status_code == 201
    admin.patch(f"/auth/users/{name}", json={"role": "auditor"})
    events = admin.get("/auth/audit-events", params={"resource_type": "user_account", "resource_id": name}).json()
    assert [e["action"] for e in events["items"]] == ["create", "update"]
    create, update = events["items"]
    assert create["actor"] == "root-admin" and create["role"] == "admin"
    assert create["request_id"] == f"rid-{name}"
    assert create["after"]["password_hash"] == "***" and create["after"]["role"] == "expert"
    assert update["before"]["role"] == "expert" and update["after"]["role"] == "auditor"
    assert update["prev_hash"] == create["hash"] or update["seq"] > create["seq"]
    assert admin.get("/auth/audit-events/verify").json()["valid"] is True


def test_the_audit_trail_is_read_only_and_for_officers(system):
    admin = system.client_for("admin")
    assert admin.delete("/auth/audit-events").status_code == 405
    assert admin.post("/auth/audit-events", json={}).status_code == 405
    assert system.client_for("expert").get("/auth/audit-events").status_code == 403


def test_tampering_under_the_api_is_detected(system):
    admin = system.client_for("admin")
    admin.post("/auth/users", json={"username": f"t-{uuid.uuid4().hex[:6]}", "password": "a long enough secret",
                                    "role": "expert"})
    engine = sa.create_engine(system.database_url("gateway"))
    try:
        with engine.begin() as conn:
            table = sa.Table("audit_event", sa.MetaData(), autoload_with=conn)
            row = dict(conn.execute(table.select().order_by(table.c.seq.desc()).limit(1)).mappings().one())
            seq = row["seq"]
            conn.execute(sa.text("UPDATE audit_event SET actor = 'someone-else' WHERE seq = :seq"), {"seq": seq})
        report = admin.get("/auth/audit-events/verify").json()
        assert report == {"valid": False, "events_checked": seq - 1, "first_invalid_seq": seq,
                          "reason": f"event {seq} does not match its hash"}
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_event SET actor = :actor WHERE seq = :seq"),
                         {"actor": row["actor"], "seq": seq})
        assert admin.get("/auth/audit-events/verify").json()["valid"] is True
        # removing the newest event is detected too: the chain no longer reaches its head
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": seq})
        removed = admin.get("/auth/audit-events/verify").json()
        assert removed["valid"] is False and "removed" in removed["reason"]
        with engine.begin() as conn:
            conn.execute(table.insert().values(**row))
        assert admin.get("/auth/audit-events/verify").json()["valid"] is True
    finally:
        engine.dispose()
