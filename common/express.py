"""A service's express lane: a hot, read-only JSON POST answered without FastAPI's request handling.

A pre-check is answered by one worker that spends most of its CPU around the evaluation, not in it: py-spy showed
about half of each pre-check in FastAPI's routing, dependency solving, body parsing and validation, and response
validation and serialization, and in the exception layers between them. The lane takes the request just inside the
service's own middleware (request id, access log, metrics, tracing stay as they are), reads the body, checks the
caller's token, validates the body with the route's own model and calls the lane's handler.

Only a plain success is answered here. A body the model refuses, a content type other than JSON, an oversized body
or a handler that declines (returns None) replays the request, body and all, into the FastAPI route, which stays the
reference behaviour: its answer is the one documented, problems included. A refusal the lane meets itself (a missing
or invalid token, a problem or a database error raised by the handler) is rendered by the app's own exception
handler, as the route's would be. The handler must not write: a replayed request runs the route's handling again.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from starlette.requests import Request

from .auth import authenticate

JSON_MEDIA_TYPES = (b"application/json", b"application/json; charset=utf-8")
MAX_BODY_BYTES = 1024 * 1024  # beyond this the route reads the body (its own limits apply)

Handler = Callable[[Any, Request], Awaitable[BaseModel | None]]


@dataclass(frozen=True)
class ExpressRoute:
    """A POST path answered in the lane: the body's model and the handler (None: leave it to the route)."""

    path: str
    model: type[BaseModel]
    handler: Handler


class ExpressLane:
    """Pure ASGI middleware answering its routes' plain successes; everything else goes on to the app."""

    def __init__(self, app, routes: list[ExpressRoute], enabled: bool = True) -> None:
        self.app = app
        self.routes = {route.path: route for route in routes} if enabled else {}
        self._api_routes: dict[str, Any] = {}  # path: the app's APIRoute, set in the scope for metrics and logs

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if route is None or _content_type(scope) not in JSON_MEDIA_TYPES:
            return await self.app(scope, receive, send)
        messages, body = await _read_body(receive)
        if body is None:  # too large or the client left: the route deals with it as ever
            return await self.app(scope, _replay(messages, receive), send)
        request = Request(scope, receive)
        try:
            await authenticate(request)  # a refused token is the route's 401, rendered below
            data = _validated(route.model, body)
            answer = None if data is None else await route.handler(data, request)
        except Exception as exc:  # noqa: BLE001 - answered by the app's handler for it, as the route's would be
            scope["route"] = self._api_route(scope["app"], route.path)
            response = await _exception_handler(scope["app"], exc)(request, exc)
            return await response(scope, receive, send)
        if answer is None:
            return await self.app(scope, _replay(messages, receive), send)
        scope["route"] = self._api_route(scope["app"], route.path)
        payload = answer.model_dump_json().encode()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    def _api_route(self, app: FastAPI, path: str):
        """The app's POST route at `path` (what the route-labelled metrics and the access log read)."""
        found = self._api_routes.get(path)
        if found is None:
            from .app import api_routes  # the app factory installs this lane: imported late to avoid a cycle

            found = next(r for r in api_routes(app) if r.path_format == path and "POST" in r.methods)
            self._api_routes[path] = found
        return found


def _validated(model: type[BaseModel], body: bytes) -> BaseModel | None:
    """The body as the route's model, read as FastAPI reads it (JSON, then the model in Python); None if refused.

    The JSON is parsed by pydantic-core into the same Python values json.loads gives, in half the time (~12 against
    ~26 µs for a platform dossier); a body it refuses goes to the route, which reads it with json.loads."""
    try:
        return model.model_validate(from_json(body))
    except (ValueError, ValidationError):  # not JSON, or not the model's: the route answers with its 422
        return None


def _exception_handler(app: FastAPI, exc: Exception):
    """The app's handler for an exception, looked up by its class's ancestry as Starlette looks it up."""
    for cls in type(exc).__mro__:
        if cls in app.exception_handlers:
            return app.exception_handlers[cls]
    raise exc


def _content_type(scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.lower()
    return None


async def _read_body(receive) -> tuple[list[dict], bytes | None]:
    """The request's messages as received and its whole body; None for the body when it is too large or cut short."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[dict], receive):
    """A receive that gives the messages already read, then the client's."""
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed
