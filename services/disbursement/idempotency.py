"""Idempotency keys on every POST that moves money (draft-ietf-httpapi-idempotency-key-header).

A key is scoped to its caller (the token's subject), as the draft recommends. The first successful answer is
stored with the request's fingerprint (method, path, query, canonical body) in the same transaction as its
effect, so either both exist or neither does. A repeat with the same key and the same request replays that
answer (`Idempotent-Replayed: true`); the same key with a different request is a 422; no key is a 400. An
error answer is not stored: the request can be repeated once the state allows it. The effects themselves are
also unique in the database, so two requests with different keys cannot duplicate them either.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.auth import PrincipalDep
from common.clock import Clock
from common.problems import BadRequest, Conflict, Unprocessable

from .models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotentRequest:
    """A money-moving request with its key, its caller and what identifies its content."""

    actor: str
    key: str
    method: str
    path: str
    fingerprint: str


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """SHA-256 over the method, path, sorted query and canonical JSON body (raw bytes if not JSON)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    sorted_query = "&".join(sorted(query.split("&"))) if query else ""
    digest = hashlib.sha256(f"{method.upper()} {path}?{sorted_query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


async def idempotent_request(
    request: Request, principal: PrincipalDep,
    key: Annotated[str | None, Header(alias="Idempotency-Key", description=(
        "Required: a unique value (e.g. a UUID) per intended money movement, 1–200 visible ASCII characters. "
        "Repeating the request with the same key replays the first answer; without it the answer is 400."))] = None,
) -> IdempotentRequest:
    """Dependency: the request's Idempotency-Key, refused when absent or malformed."""
    if key is None or not key.strip():
        raise BadRequest("This request moves money and needs an Idempotency-Key header (e.g. a UUID), so that "
                         "repeating it can never move the money twice.")
    key = key.strip().strip('"')
    if not KEY_PATTERN.match(key):
        raise BadRequest("The Idempotency-Key must be 1–200 visible ASCII characters.")
    body = await request.body()
    return IdempotentRequest(actor=principal.subject, key=key, method=request.method, path=request.url.path,
                             fingerprint=fingerprint(request.method, request.url.path, request.url.query, body))


IdempotencyDep = Annotated[IdempotentRequest, Depends(idempotent_request)]


def _stored(session: Session, idem: IdempotentRequest) -> IdempotencyRecord | None:
    record = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.actor == idem.actor,
                                                          IdempotencyRecord.key == idem.key)).first()
    if record is not None and record.fingerprint != idem.fingerprint:
        raise Unprocessable(
            f"This Idempotency-Key was already used for a different request ({record.method} {record.path}); "
            "use a new key for a new operation, or repeat the original request unchanged.",
            errors=[{"field": "header.Idempotency-Key", "message": "already used for a different request",
                     "code": "idempotency_key_reused"}])
    return record


def _replay(record: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(record.response, status_code=record.status_code, headers={REPLAYED_HEADER: "true"})


def run_once(session: Session, idem: IdempotentRequest, status_code: int, act: Callable[[], Any],
             clock: Clock) -> JSONResponse:
    """Run `act` (returning a JSON-able answer) at most once per caller and key; replay its answer to repeats."""
    record = _stored(session, idem)
    if record is not None:
        return _replay(record)
    try:
        answer = act()
        session.add(IdempotencyRecord(actor=idem.actor, key=idem.key, fingerprint=idem.fingerprint,
                                      method=idem.method, path=idem.path[:300], status_code=status_code,
                                      response=answer, created_at=clock.now()))
        session.flush()
    except (IntegrityError, Conflict) as exc:
        # a concurrent request with the same key may have won: its stored answer is ours
        session.rollback()
        record = _stored(session, idem)
        if record is not None:
            return _replay(record)
        if isinstance(exc, IntegrityError):
            raise Conflict("A request with the same effect was being processed at the same time; repeat this "
                           "one with the same Idempotency-Key to get its answer.") from None
        raise
    return JSONResponse(answer, status_code=status_code)
