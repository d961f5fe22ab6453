"""RFC 9457 problem details: the one error shape every client sees, and the handlers that guarantee it."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"

log = logging.getLogger("fundflow.problems")


class FieldError(BaseModel):
    """One offending input field of a validation error."""

    field: str = Field(description="Dotted path of the field, e.g. `body.uscc`")
    message: str = Field(description="What is wrong with it")
    code: str = Field(description="Machine-readable error code")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem answer."""

    type: str = Field(description="URI reference naming the kind of problem, e.g. `/problems/not-found`")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong this time, for a human")
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = Field(default=None, description="The X-Request-ID of the request")
    errors: list[FieldError] | None = Field(default=None, description="Offending fields (validation errors)")
    clause: str | None = Field(default=None, description="Clause of POLICY.md that the refusal enforces")

    model_config = {"extra": "allow"}


class Problem(Exception):
    """Base of every error a service raises on purpose; rendered as problem+json."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def body(self, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        """The JSON body of this problem."""
        return problem_body(self.status, self.slug, self.title, self.detail,
                            instance=instance, request_id=request_id, errors=self.errors, **self.extra)


class BadRequest(Problem):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(Problem):
    status, slug, title = 422, "validation-error", "Invalid input"


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class GatewayTimeout(Problem):
    status, slug, title = 504, "gateway-timeout", "Gateway timeout"


def problem_body(status: int, slug: str, title: str, detail: str, *, instance: str | None = None,
                 request_id: str | None = None, errors: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    """Build a problem document; `None` members are left out."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSONResponse carrying a problem document with the right media type."""
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None) or request.headers.get("x-request-id")


def field_errors(raw_errors: list[dict]) -> list[dict]:
    """Turn pydantic's error list into our FieldError shape."""
    out = []
    for err in raw_errors:
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "code": err.get("type", "invalid")})
    return out


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"), 401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"), 404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"), 406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"), 411: ("length-required", "Length required"),
    413: ("payload-too-large", "Payload too large"), 415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Invalid input"), 429: ("too-many-requests", "Too many requests"),
}


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an application/problem+json answer, never a stack trace."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        headers = exc.extra.pop("headers", None) if isinstance(exc.extra.get("headers"), dict) else None
        return problem_response(exc.body(request.url.path, _request_id(request)), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = field_errors(exc.errors())
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        body = problem_body(422, "validation-error", "Invalid input", f"The request is not valid: {summary}",
                            instance=request.url.path, request_id=_request_id(request), errors=errors)
        return problem_response(body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}"
        body = problem_body(exc.status_code, slug, title, detail, instance=request.url.path,
                            request_id=_request_id(request))
        return problem_response(body, headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: Exception):
        # the driver's error class says which (connection refused, deadlock, …) without the statement's values
        log.error("database unavailable: %s (%s)", exc.__class__.__name__,
                  getattr(getattr(exc, "orig", None), "__class__", type(None)).__name__)
        body = problem_body(503, "service-unavailable", "Service unavailable",
                            "The service's database is unreachable; try again shortly.",
                            instance=request.url.path, request_id=_request_id(request))
        return problem_response(body, headers={"Retry-After": "5"})

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout):
        # every pooled connection stayed busy: the database is saturated, not the request wrong
        log.warning("database connection pool exhausted on %s %s", request.method, request.url.path)
        body = problem_body(503, "service-unavailable", "Service unavailable",
                            "The service is saturated (no database connection became free in time); try again "
                            "shortly.", instance=request.url.path, request_id=_request_id(request))
        return problem_response(body, headers={"Retry-After": "2"})

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError):
        # the database refused a value the schema let through (a NUL character, a number out of range)
        log.warning("value refused by the database on %s: %s", request.url.path, exc.orig.__class__.__name__)
        body = problem_body(422, "validation-error", "Invalid input",
                            "A value cannot be stored: text must not contain NUL characters and numbers must be "
                            "in range.", instance=request.url.path, request_id=_request_id(request), errors=[])
        return problem_response(body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = problem_body(500, "internal-error", "Internal error",
                            "An unexpected error occurred; it has been logged with this request id.",
                            instance=request.url.path, request_id=_request_id(request))
        return problem_response(body)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem answers for the given statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        _, title = _STATUS_SLUGS.get(status, ("", "Error"))
        if status == 503:
            title = "A dependency (database, object store, another service) is unavailable"
        out[status] = {"model": ProblemDetails, "description": title,
                       "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}}
    return out
