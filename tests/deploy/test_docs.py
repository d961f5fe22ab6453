"""docs/operations.md is generated from the settings classes and says the truth about production mode; every
variable the deployments set is a real setting (a misspelt one would be ignored silently)."""
from __future__ import annotations

import os
import sys

import pytest
import yaml
from pydantic import ValidationError

from deploy import docs
from deploy.docs import PROCESSES, operations, production_needs, settings_class

from .test_k8s import RENDERED, by_kind

PREFIXES = {settings_class(p).model_config["env_prefix"]: p for p in PROCESSES}
VALID = {"database_url": "postgresql+psycopg://u:p@db.example:5432/x", "jwt_secret": "k" * 64,
         "bootstrap_admin_password": "a real admin password"}


def settings_names() -> set[str]:
    return {f"{prefix}{field.upper()}" for prefix, process in PREFIXES.items()
            for field in settings_class(process).model_fields}


def test_the_committed_document_is_the_generated_one():
    committed = docs.TARGET.read_text(encoding="utf-8")
    assert committed == operations(), "docs/operations.md is out of date: run `python -m deploy.docs`"
    for name in settings_names():  # every setting of every process, with its default and meaning
        assert f"| `{name}` |" in committed
    for section in ("## Upgrading", "## Scaling", "## Monitoring", "## Backup and restore", "## Configuration"):
        assert section in committed


def test_the_check_fails_on_a_stale_document(tmp_path, monkeypatch):
    stale = tmp_path / "operations.md"
    stale.write_text(operations().replace("GATEWAY_POOL_SIZE", "GATEWAY_POOLSIZE"), encoding="utf-8")
    monkeypatch.setattr(docs, "TARGET", stale)
    monkeypatch.setattr(sys, "argv", ["deploy.docs", "--check"])
    with pytest.raises(SystemExit, match="out of date"):
        docs.main()
    monkeypatch.setattr(sys, "argv", ["deploy.docs"])
    docs.main()
    assert stale.read_text(encoding="utf-8") == operations()


def _build(process: str, fields: dict[str, str], monkeypatch):
    for key in list(os.environ):
        if key.startswith(tuple(PREFIXES)):
            monkeypatch.delenv(key)
    cls = settings_class(process)
    prefix = cls.model_config["env_prefix"]
    monkeypatch.setenv(f"{prefix}ENVIRONMENT", "production")
    for field, value in fields.items():
        monkeypatch.setenv(f"{prefix}{field.upper()}", value)
    return cls()


@pytest.mark.parametrize("process", PROCESSES)
def test_what_the_document_says_production_needs_is_exactly_what_it_needs(process, monkeypatch):
    needs = {field: VALID[field] for field in production_needs(process)}
    assert _build(process, needs, monkeypatch).environment == "production"
    for missing in needs:
        with pytest.raises(ValidationError):
            _build(process, {k: v for k, v in needs.items() if k != missing}, monkeypatch)
    with pytest.raises(ValidationError):
        _build(process, {**needs, "database_url": "sqlite:////tmp/x.db"}, monkeypatch)
    with pytest.raises(ValidationError):
        _build(process, {**needs, "fixed_now": "2025-12-10T10:00:00+08:00"}, monkeypatch)


def test_every_variable_the_deployments_set_is_a_setting():
    known = settings_names()
    compose = yaml.safe_load((docs.ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    set_by_compose = {key for service in compose["services"].values()
                      for key in (service.get("environment") or {}) if key.startswith(tuple(PREFIXES))}
    assert len(set_by_compose) > 20 and set_by_compose <= known, set_by_compose - known
    for overlay, rendered in RENDERED.items():
        keys = {k for c in by_kind(rendered, "ConfigMap").values() for k in c["data"]}
        keys |= {k for s in by_kind(rendered, "Secret").values() for k in s["stringData"]}
        assert keys <= known, (overlay, keys - known)
    for name, keys in docs.kubernetes_secret_keys().items():
        assert set(keys) <= known and name.removeprefix("fundflow-").upper() + "_" in PREFIXES
