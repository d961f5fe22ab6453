"""The migrations build exactly the schema the models declare, and undo and redo cleanly (each service in a process
of its own, so that no other service's tables share the metadata)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys, tempfile
from pathlib import Path
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel
from common.db import make_engine
service = sys.argv[1]
db = __import__(f"services.{service}.db", fromlist=["db"])
__import__(f"services.{service}.models")
engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'schema.db'}")
config = Config()
config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
config.attributes["version_table"] = db.VERSION_TABLE
with engine.begin() as connection:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)
    command.downgrade(config, "base")  # every revision can be undone, and done again
    command.upgrade(config, "head")
shared = ("audit_", "webhook_", "alembic_version")
def table(change):
    change = change[0] if isinstance(change, list) else change
    target = change[1]
    if isinstance(target, str):
        return change[2]
    return target.table.name if getattr(target, "table", None) is not None else target.name
ours = [d for d in diff if not table(d).startswith(shared)]
print("\\n".join(map(str, ours)))
sys.exit(1 if ours else 0)
"""


def check_schema(service: str) -> None:
    result = subprocess.run([sys.executable, "-c", CHECK, service], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"{service}: migrations and models differ:\n{result.stdout}{result.stderr[-2000:]}"


def test_eligibility_migrations_build_the_schema_its_models_declare():
    check_schema("eligibility")
