"""Where evidence documents live: a local folder on the embedded default, any S3-compatible server in production.

Both stores take a document as a stream of chunks and never hold it whole: the upload route feeds a
bounded queue from the request body, and the store's writer thread drains it.
"""
from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import urllib3
from minio import Minio
from minio.error import S3Error

CHUNK = 256 * 1024
S3_PART_SIZE = 5 * 1024 * 1024  # the protocol's minimum part size: the SDK holds about one part in memory


class ObjectStore(Protocol):
    """What the intake service needs of an object store (blocking calls: run them in a thread)."""

    def put(self, key: str, source: "ChunkSource", media_type: str, length: int | None = None) -> None: ...

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; raises at once when it cannot be read."""
        ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None: ...


class UploadAborted(Exception):
    """The producer gave up (client gone, too large, wrong type): nothing may be kept."""


class ChunkSource:
    """A file-like bridge from the event loop (which puts chunks) to a writer thread (which reads them)."""

    _END = object()

    def __init__(self, max_bytes: int = S3_PART_SIZE + 2 * 1024 * 1024) -> None:
        # bounded by bytes, not chunks: room for about one part lets the body keep arriving while the writer sends
        # the previous part to the store (with a few small chunks the two took turns, halving the upload rate)
        self._queue: queue.Queue = queue.Queue()
        self._max_bytes = max_bytes
        self._queued = 0
        self._lock = threading.Lock()
        self._rest = b""  # what the last read took from a chunk but did not return
        self._ended = False

    def try_feed(self, chunk) -> bool:
        """Hand a chunk (or the end mark) over if there is room now (never blocks)."""
        size = len(chunk) if isinstance(chunk, (bytes, bytearray, memoryview)) else 0
        with self._lock:
            if self._queued and self._queued + size > self._max_bytes:
                return False
            self._queued += size
        self._queue.put_nowait(chunk)
        return True

    @property
    def end_mark(self):
        """What try_feed takes to say there is no more."""
        return self._END

    def abort(self) -> None:
        """Make the reader fail, so that the writer discards what it wrote."""
        self._queue.put_nowait(UploadAborted())

    def _next(self) -> bytes | None:
        item = self._queue.get(timeout=120)
        if isinstance(item, UploadAborted):
            raise item
        if item is not self._END:
            with self._lock:
                self._queued -= len(item)
        return None if item is self._END else item

    def read(self, size: int = -1) -> bytes:
        """Reads filled to the size asked (the S3 SDK builds each part from them), copying each byte once."""
        parts, have = ([self._rest], len(self._rest)) if self._rest else ([], 0)
        self._rest = b""
        while not self._ended and (size < 0 or have < size):
            chunk = self._next()
            if chunk is None:
                self._ended = True
            else:
                parts.append(chunk)
                have += len(chunk)
        if 0 <= size < have:  # split the last chunk only, never the whole part
            keep = len(parts[-1]) - (have - size)
            parts[-1], self._rest = parts[-1][:keep], parts[-1][keep:]
        return b"".join(parts) if len(parts) != 1 else bytes(parts[0])

    def chunks(self) -> Iterator[bytes]:
        """The chunks in order, for writers that take an iterator."""
        while (chunk := self._next()) is not None:
            yield chunk


class LocalStore:
    """Documents as files under a folder; a write lands under its key only when complete."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        # a process killed mid-upload leaves its partial file: the embedded store has one writer, so any
        # partial file found at start is an orphan
        for orphan in self.root.rglob(".*.partial"):
            orphan.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("object key escapes the store")
        return path

    def put(self, key: str, source: ChunkSource, media_type: str, length: int | None = None) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        try:
            with partial.open("wb") as handle:
                for chunk in source.chunks():
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key: str) -> Iterator[bytes]:
        handle = self._path(key).open("rb")  # opened now: a missing file fails here, not mid-response

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        probe = self.root / f".ready-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()


class S3Store:
    """Documents in a bucket of an S3-compatible server (MinIO), through the minio SDK."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool,
                 region: str) -> None:
        # few, quick retries: an unreachable store is answered with a 503 in seconds, not after a minute
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=60), maxsize=16,
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2,
                                                         status_forcelist=[500, 502, 503, 504]))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                            http_client=http)
        self.bucket = bucket
        self._bucket_ready = threading.Event()

    def ensure_bucket(self, probe: bool = False) -> None:
        """Create the bucket when it is missing (at start, and again if the server lost it)."""
        if self._bucket_ready.is_set() and not probe:
            return
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        self._bucket_ready.set()

    def put(self, key: str, source: ChunkSource, media_type: str, length: int | None = None) -> None:
        self.ensure_bucket()
        # A multipart upload the SDK aborts if the source fails midway, so nothing half-written remains. One part
        # at a time: memory stays at about one part whatever the file's size and the server's speed. With the
        # length known each part is the very bytes read (with -1 the SDK copies each part twice more).
        try:
            self.client.put_object(self.bucket, key, source, length=-1 if length is None else length,
                                   part_size=S3_PART_SIZE, content_type=media_type, num_parallel_uploads=1)
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                self._bucket_ready.clear()  # the server came back without it: the next upload recreates it
            raise

    def open(self, key: str) -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key)  # asked now: an outage fails here, not mid-response

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(CHUNK)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)

    def check(self) -> None:
        self.ensure_bucket(probe=True)  # a real round trip every time: readiness must see an outage


def make_store(settings) -> ObjectStore:
    """The store the settings ask for: S3 when an endpoint is set, the local folder otherwise."""
    if settings.s3_endpoint:
        return S3Store(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key, settings.s3_bucket,
                       settings.s3_secure, settings.s3_region)
    return LocalStore(settings.data_dir / "documents")
