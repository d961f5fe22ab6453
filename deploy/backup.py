"""Backup and restore of the whole system: every process's database and the documents' object store.

    python -m deploy.backup dump --to DIR        (image: `fundflow backup dump --to DIR`)
    python -m deploy.backup dump --in PARENT [--keep N]   (a new folder named by the time; keep the newest N)
    python -m deploy.backup verify --from DIR
    python -m deploy.backup restore --from DIR [--force]

It is configured exactly as the processes are (GATEWAY_DATABASE_URL, INTAKE_DATABASE_URL, INTAKE_S3_ENDPOINT, …:
the settings classes read the environment), so it runs with the same environment as the system it saves.
PostgreSQL databases go through pg_dump/pg_restore (custom format; the client must be the server's major version
or newer), SQLite files through SQLite's online backup API; documents are copied object by object. DIR gets a
manifest.json with the SHA-256 and size of every file and object: `verify` and `restore` check them before
anything is written.

A restore goes onto an empty system: each database empty or freshly migrated to the backup's own revision (no
row in any table), the bucket or folder without documents; `--force` overwrites what is there. Stop the
processes first, start them afterwards (they migrate a restored older backup to head as usual).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import MetaData, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from common.db import make_engine

FORMAT = "fundflow-backup/1"
# process -> (settings module, settings class, module with VERSION_TABLE)
PROCESSES = {
    "gateway": ("gateway.settings", "GatewaySettings", "gateway.db"),
    "intake": ("services.intake.settings", "IntakeSettings", "services.intake.db"),
    "eligibility": ("services.eligibility.settings", "EligibilitySettings", "services.eligibility.db"),
    "calculation": ("services.calculation.settings", "CalculationSettings", "services.calculation.db"),
    "disbursement": ("services.disbursement.settings", "DisbursementSettings", "services.disbursement.db"),
}
CHUNK = 1024 * 1024
# rows a migration writes itself: a database holding only these holds no data (the audit chain's genesis head;
# any change would also have left an audit_event row, which counts)
SEEDED_BY_MIGRATIONS = {"audit_head"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def document_path(folder: Path, key: str) -> Path:
    """Where an object's copy lives in a backup; a key that would leave the folder is refused."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise BackupError(f"object key {key!r} is not a plain relative path")
    return folder / "documents" / Path(*parts)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Database:
    """One process's database as its settings name it."""

    process: str
    url: str
    version_table: str

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def sqlite_path(self) -> Path:
        return Path(make_url(self.url).database)

    def libpq(self) -> tuple[str, dict[str, str]]:
        """A libpq URL without the password (not on a command line) and the environment carrying it."""
        url = make_url(self.url)
        env = {**os.environ}
        if url.password:
            env["PGPASSWORD"] = url.password
        return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env

    def state(self) -> tuple[str | None, int]:
        """(Alembic revision or None, rows of data in the service's tables) of the database as it is now."""
        if self.backend == "sqlite" and not self.sqlite_path().exists():
            return None, 0
        engine = make_engine(self.url, pool_size=1)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            revision, rows = None, 0
            with engine.connect() as conn:
                for name, table in metadata.tables.items():
                    if name == self.version_table:
                        revision = conn.execute(select(table.c.version_num)).scalar()
                    elif not name.startswith("alembic_version") and name not in SEEDED_BY_MIGRATIONS:
                        rows += conn.execute(select(func.count()).select_from(table)).scalar_one()
            return revision, rows
        finally:
            engine.dispose()

    def dump(self, target: Path) -> None:
        if self.backend == "sqlite":
            if not self.sqlite_path().exists():
                raise BackupError(f"{self.process}: no database at {self.sqlite_path()}")
            # the online backup API: a consistent copy even while the service writes (WAL included)
            with sqlite3.connect(self.sqlite_path()) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            source.close()
            copy.close()
            return
        url, env = self.libpq()
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--file={target}", f"--dbname={url}"], env,
             self.process)

    def restore(self, source: Path) -> None:
        if self.backend == "sqlite":
            self.sqlite_path().parent.mkdir(parents=True, exist_ok=True)
            for stale in (self.sqlite_path().with_name(self.sqlite_path().name + s) for s in ("-wal", "-shm")):
                stale.unlink(missing_ok=True)
            with sqlite3.connect(source) as backup, sqlite3.connect(self.sqlite_path()) as live:
                backup.backup(live)  # replaces every page of the target
            backup.close()
            live.close()
            return
        url, env = self.libpq()
        # one transaction: a failed restore leaves the database as it was; --clean drops what a fresh migration made
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-acl", "--single-transaction",
              "--exit-on-error", f"--dbname={url}", str(source)], env, self.process)


def _run(command: list[str], env: dict[str, str], process: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not on PATH: install the PostgreSQL client (the server's major "
                          "version or newer)")
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{process}: {command[0]} failed: {result.stderr.strip()}")


class DocumentStore:
    """The intake service's documents: a bucket of an S3 server, or the local folder of the embedded mode."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.kind = "s3" if settings.s3_endpoint else "local"
        self.root = settings.data_dir / "documents"
        if self.kind == "s3":
            from minio import Minio

            self.client = Minio(settings.s3_endpoint, access_key=settings.s3_access_key,
                                secret_key=settings.s3_secret_key, secure=settings.s3_secure,
                                region=settings.s3_region)
            self.bucket = settings.s3_bucket

    def describe(self) -> dict:
        return {"store": self.kind, **({"bucket": self.bucket} if self.kind == "s3" else {})}

    def keys(self) -> list[str]:
        if self.kind == "s3":
            if not self.client.bucket_exists(self.bucket):
                return []
            return sorted(o.object_name for o in self.client.list_objects(self.bucket, recursive=True))
        if not self.root.exists():
            return []
        # dot files are the local store's partial writes and probes, never documents
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.root).parts))

    def download(self, key: str, target: Path) -> str | None:
        """Copy one object to a file; its content type where the store keeps one."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "s3":
            stat = self.client.fget_object(self.bucket, key, str(target))
            return stat.content_type
        shutil.copyfile(self.root / key, target)
        return None

    def upload(self, key: str, source: Path, content_type: str | None) -> None:
        if self.kind == "s3":
            self.client.fput_object(self.bucket, key, str(source), content_type=content_type or
                                    "application/octet-stream")
            return
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise BackupError(f"object key {key!r} escapes the documents folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def prepare(self) -> None:
        if self.kind == "s3":
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        else:
            self.root.mkdir(parents=True, exist_ok=True)


def _settings(process: str):
    module, cls, _ = PROCESSES[process]
    return getattr(importlib.import_module(module), cls)()


def databases() -> list[Database]:
    """Every process's database, from the environment as that process would read it."""
    found = []
    for process, (_, _, db_module) in PROCESSES.items():
        settings = _settings(process)
        found.append(Database(process, settings.resolved_database_url(),
                              importlib.import_module(db_module).VERSION_TABLE))
    return found


def dump(to: Path) -> dict:
    """Write a backup of every database, then every document, into the empty folder `to`."""
    if to.exists() and any(to.iterdir()):
        raise BackupError(f"{to} is not empty: a backup goes into a new folder")
    (to / "databases").mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(), "databases": {}}
    # databases first: every document a dumped row names was stored before the row committed, so it is copied
    for database in databases():
        revision, rows = database.state()
        name = f"databases/{database.process}.{'sqlite' if database.backend == 'sqlite' else 'pgdump'}"
        database.dump(to / name)
        manifest["databases"][database.process] = {
            "backend": database.backend, "file": name, "revision": revision, "rows": rows,
            "bytes": (to / name).stat().st_size, "sha256": sha256_of(to / name)}
        print(f"{database.process}: {rows} rows at revision {revision}", file=sys.stderr)
    store = DocumentStore(_settings("intake"))
    objects = []
    for key in store.keys():
        target = document_path(to, key)
        content_type = store.download(key, target)
        objects.append({"key": key, "bytes": target.stat().st_size, "sha256": sha256_of(target),
                        "content_type": content_type})
    manifest["documents"] = {**store.describe(), "objects": objects}
    (to / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"documents: {len(objects)} objects; backup in {to}", file=sys.stderr)
    return manifest


def backup_name() -> str:
    """A dated backup's folder name: the UTC time, which sorts as it happened."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")


def prune(parent: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backups in `parent` (folders named by time, with a manifest)."""
    backups = sorted(p for p in parent.iterdir() if p.is_dir() and (p / "manifest.json").exists())
    removed = backups[:-keep]
    for old in removed:
        shutil.rmtree(old)
        print(f"removed the older backup {old}", file=sys.stderr)
    return removed


def verify(source: Path) -> dict:
    """The backup's manifest, once every file in it has its recorded size and SHA-256."""
    path = source / "manifest.json"
    if not path.exists():
        raise BackupError(f"{source} holds no manifest.json: not a backup")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    files = [(source / "databases" / Path(entry["file"]).name, entry) for entry in manifest["databases"].values()]
    files += [(document_path(source, entry["key"]), entry) for entry in manifest["documents"]["objects"]]
    for file, entry in files:
        if not file.is_file() or file.stat().st_size != entry["bytes"] or sha256_of(file) != entry["sha256"]:
            raise BackupError(f"{file} is missing or damaged (size or SHA-256 differs from the manifest)")
    missing = set(PROCESSES) - set(manifest["databases"])
    if missing:
        raise BackupError(f"the backup lacks the databases of {sorted(missing)}")
    return manifest


def restore(source: Path, force: bool = False) -> dict:
    """Put a verified backup back onto an empty system (processes stopped)."""
    manifest = verify(source)
    targets = {d.process: d for d in databases()}
    store = DocumentStore(_settings("intake"))
    # every check before the first write: a refused restore changes nothing
    for process, entry in manifest["databases"].items():
        target = targets[process]
        if target.backend != entry["backend"]:
            raise BackupError(f"{process}: the backup is of {entry['backend']}, the target is {target.backend}")
        revision, rows = target.state()
        if not force and rows:
            raise BackupError(f"{process}: the target database holds {rows} rows: restore onto an empty system "
                              "(or --force to replace them)")
        if not force and revision not in (None, entry["revision"]):
            raise BackupError(f"{process}: the target is migrated to {revision}, the backup is at "
                              f"{entry['revision']}: restore onto an empty database")
    present = store.keys()
    if present and not force:
        raise BackupError(f"the documents store already holds {len(present)} objects: restore onto an empty "
                          "system (or --force)")
    for process, entry in manifest["databases"].items():
        targets[process].restore(source / "databases" / Path(entry["file"]).name)
        print(f"{process}: restored {entry['rows']} rows at revision {entry['revision']}", file=sys.stderr)
    store.prepare()
    for entry in manifest["documents"]["objects"]:
        store.upload(entry["key"], document_path(source, entry["key"]), entry.get("content_type"))
    print(f"documents: restored {len(manifest['documents']['objects'])} objects", file=sys.stderr)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.backup", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dump_parser = sub.add_parser("dump", help="back up every database and document")
    where = dump_parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", type=Path, help="a new (or empty) folder")
    where.add_argument("--in", dest="parent", type=Path,
                       help="a folder of backups: this one goes into a new subfolder named by the UTC time")
    dump_parser.add_argument("--keep", type=int, help="with --in: then delete all but the newest KEEP backups")
    sub.add_parser("verify", help="check a backup's files against its manifest").add_argument(
        "--from", dest="source", type=Path, required=True)
    restore_parser = sub.add_parser("restore", help="put a backup back onto an empty system")
    restore_parser.add_argument("--from", dest="source", type=Path, required=True)
    restore_parser.add_argument("--force", action="store_true", help="replace data already in the target")
    args = parser.parse_args(argv)
    try:
        if args.command == "dump":
            if args.keep is not None and (args.parent is None or args.keep < 1):
                parser.error("--keep takes a positive number and goes with --in")
            if args.parent is not None:
                dump(args.parent / backup_name())
                if args.keep is not None:
                    prune(args.parent, args.keep)
            else:
                dump(args.to)
        elif args.command == "verify":
            manifest = verify(args.source)
            print(f"{args.source}: {len(manifest['databases'])} databases and "
                  f"{len(manifest['documents']['objects'])} documents intact", file=sys.stderr)
        else:
            restore(args.source, force=args.force)
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"backup: a database cannot be reached: {exc.orig or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
