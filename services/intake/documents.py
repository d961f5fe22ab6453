"""Evidence uploads: streamed to the object store, typed by their bytes, hashed and measured on the way."""
from __future__ import annotations

import asyncio
import hashlib
import unicodedata
import uuid

from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from common.problems import PayloadTooLarge, Problem, ServiceUnavailable, Unprocessable, UnsupportedMediaType

from .pdfguard import PdfInflationGuard
from .storage import ChunkSource, ObjectStore, UploadAborted

SNIFF_BYTES = 8
MAGIC = (  # what the first bytes of an accepted document must be, whatever the client says it is
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
# kinds beyond the edition's materials lists (supporting evidence an officer may ask for)
EXTRA_KINDS = ("invoice", "contract", "payment_proof", "certificate", "bank_slip", "training_contract",
               "authorisation_letter", "premises_proof", "other")


def media_type_of(head: bytes) -> str | None:
    """The document's type from its magic bytes, or None when it is none of the accepted kinds."""
    for magic, media_type in MAGIC:
        if head.startswith(magic):
            return media_type
    return None


def check_filename(filename: str) -> str:
    """A plain file name: no folders, no control characters, not empty."""
    name = filename.strip()
    bad = (not name or len(name) > 200 or "/" in name or "\\" in name or name in (".", "..")
           or any(unicodedata.category(ch).startswith("C") for ch in name))
    if bad:
        raise Unprocessable("The file name must be a plain name of at most 200 characters, without folders or "
                            "control characters.", errors=[{"field": "query.filename", "message": "not a plain file name",
                                                            "code": "value_error"}])
    return name


class Received:
    """What the server measured of an upload."""

    def __init__(self, key: str, size: int, sha256: str, media_type: str) -> None:
        self.key, self.size, self.sha256, self.media_type = key, size, sha256, media_type


async def _feed(source: ChunkSource, chunk, writer: asyncio.Future) -> None:
    """Hand a chunk to the writer, waiting while it is behind, failing as soon as it has failed."""
    while not source.try_feed(chunk):
        if writer.done():
            writer.result()  # the store's own error
            raise UploadAborted("the writer stopped")
        await asyncio.sleep(0.002)


async def receive(request: Request, store: ObjectStore, application_id: str, limit: int,
                  declared: int | None = None) -> Received:
    """Stream the request body into the store; nothing is kept if anything goes wrong on the way.

    `declared` is the body's Content-Length when the client sent one (the server holds the body to it).
    """
    stream = request.stream()
    head = b""
    pending: list[bytes] = []
    try:
        async for chunk in stream:
            pending.append(chunk)
            head += chunk[: SNIFF_BYTES - len(head)]
            if len(head) >= SNIFF_BYTES:
                break
    except ClientDisconnect:
        raise Unprocessable("The upload was cut off before any content arrived.") from None
    if not head:
        raise Unprocessable("The file is empty.", errors=[{"field": "body", "message": "empty file", "code": "empty"}])
    media_type = media_type_of(head)
    if media_type is None:
        raise UnsupportedMediaType("Only PDF, PNG and JPEG documents are accepted, recognised by their content; "
                                   "this file is none of them.")
    key = f"applications/{application_id}/{uuid.uuid4().hex}"
    source = ChunkSource()
    writer = asyncio.ensure_future(run_in_threadpool(store.put, key, source, media_type, declared))
    digest, size = hashlib.sha256(), 0
    guard = PdfInflationGuard() if media_type == "application/pdf" else None
    try:
        async def chunks():
            yield b"".join(pending)
            async for more in stream:
                yield more

        async for chunk in chunks():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Documents may be at most {limit} bytes.", limit_bytes=limit)
            digest.update(chunk)
            if guard is not None:
                guard.feed(chunk)
            await _feed(source, chunk, writer)
        await _feed(source, source.end_mark, writer)
        await writer
    except BaseException as exc:
        source.abort()
        try:
            await writer
        except (UploadAborted, Exception):
            pass  # the writer discarded its partial object
        await run_in_threadpool(_forget, store, key)
        if isinstance(exc, ClientDisconnect):
            raise Unprocessable("The upload was cut off; nothing was kept.") from None
        if isinstance(exc, Problem):
            raise
        # the store failed under us (unreachable, full, refused): the client may try again later
        raise ServiceUnavailable("The document store is unavailable; nothing was kept. Try again shortly.",
                                 service="object_store") from exc
    return Received(key, size, digest.hexdigest(), media_type)


def _forget(store: ObjectStore, key: str) -> None:
    try:
        store.delete(key)
    except Exception:  # noqa: BLE001 - it was never written, which is the point
        pass
