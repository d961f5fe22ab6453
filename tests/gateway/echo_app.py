"""A bare ASGI upstream for the proxy's conformance tests: echoes, streams, stalls and closes on request."""
from __future__ import annotations

import asyncio
import hashlib
import json


async def _read_body(receive) -> tuple[int, str, int]:
    """Consume the body: (bytes, sha256, chunks received)."""
    digest, size, chunks = hashlib.sha256(), 0, 0
    while True:
        message = await receive()
        body = message.get("body", b"")
        if body:
            digest.update(body)
            size += len(body)
            chunks += 1
        if not message.get("more_body", False):
            return size, digest.hexdigest(), chunks


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/healthz":
        await _json(send, 200, {"status": "ok"})
    elif path == "/echo":
        size, sha, chunks = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        await _json(send, 200, {"method": scope["method"], "query": scope["query_string"].decode(),
                                "headers": headers, "size": size, "sha256": sha, "chunks": chunks})
    elif path == "/sink":
        size, _, _ = await _read_body(receive)
        await _json(send, 200, {"size": size})
    elif path == "/stream":
        # a chunked answer: no content-length, pieces sent with pauses
        count = int(dict(p.split("=") for p in scope["query_string"].decode().split("&") if p).get("n", "5"))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"x-upstream", b"echo"),
                                (b"connection", b"keep-alive, x-secret-hop"), (b"x-secret-hop", b"1"),
                                (b"keep-alive", b"timeout=5")]})
        for i in range(count):
            await send({"type": "http.response.body", "body": f"chunk-{i};".encode(), "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/big":
        # a large chunked answer, as fast as the reader takes it
        mib = int(dict(p.split("=") for p in scope["query_string"].decode().split("&") if p).get("mib", "1"))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        piece = b"x" * (1024 * 1024)
        for _ in range(mib):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/close":
        body = b'{"closed": true}'
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    elif path == "/refuse":
        # answers before reading the body, as a service refusing an upload by its headers does
        await _json(send, 413, {"detail": "refused unread"})
    elif path == "/stall":
        await asyncio.sleep(30)
        await _json(send, 200, {"late": True})
    elif path == "/stall-body":
        # the head at once, the body never in time
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await asyncio.sleep(30)
        await send({"type": "http.response.body", "body": b"late"})
    else:
        await _json(send, 404, {"detail": "no such path"})


async def _json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app():
    """uvicorn --factory entry point."""
    return app
