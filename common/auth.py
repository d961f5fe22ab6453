"""Bearer-token verification and role checks, the same in every process (no business rule: who may do what is per route)."""
from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections import OrderedDict
from typing import Annotated, Callable

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, Field

from .problems import Forbidden, Unauthorized

ROLES = ("applicant", "district_officer", "city_officer", "auditor", "expert", "finance_officer", "admin", "service")
DEV_SECRET = "dev-only-insecure-secret-change-me"
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="fundflow"'}


class Principal(BaseModel):
    """Who is calling: the verified claims of their token."""

    subject: str = Field(description="User (or service) name")
    role: str = Field(description="One of " + ", ".join(ROLES))
    unit_uscc: str | None = Field(default=None, description="The applicant unit an applicant acts for")
    district_code: str | None = Field(default=None, description="The district a district officer reviews")

    def is_service(self) -> bool:
        """A call from another service of the system."""
        return self.role == "service"


principal_var: contextvars.ContextVar["Principal | None"] = contextvars.ContextVar("principal", default=None)


class TokenVerifier:
    """Verifies HS256 tokens (embedded issuer, service tokens) and, when configured, an OIDC provider's via JWKS."""

    CACHE_SIZE = 4096

    def __init__(self, secret: str, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # verified tokens are cached (PyJWT costs ~130 µs); exp is still checked on every hit
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthorized otherwise."""
        now = time.time()
        with self._lock:
            hit = self._cache.get(token)
            if hit is not None:
                if hit[1] > now:
                    self._cache.move_to_end(token)
                    return hit[0]
                del self._cache[token]
        claims = self._decode(token)
        if claims.get("typ") == "refresh":
            raise Unauthorized("A refresh token cannot call the API; exchange it at /auth/token.",
                               headers=WWW_AUTHENTICATE)
        role = claims.get("role")
        if role not in ROLES:
            raise Unauthorized("The token carries no known role.", headers=WWW_AUTHENTICATE)
        principal = Principal(subject=str(claims.get("sub")), role=role, unit_uscc=claims.get("unit_uscc"),
                              district_code=claims.get("district_code"))
        with self._lock:
            self._cache[token] = (principal, float(claims["exp"]))
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> dict:
        options = {"require": ["exp", "sub"]}
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") == "HS256":
                return jwt.decode(token, self.secret, algorithms=["HS256"], audience=self.audience,
                                  issuer=self.issuer, options=options)
            if self.jwks is None:
                raise Unauthorized("The token is not signed by this system.", headers=WWW_AUTHENTICATE)
            key = self.jwks.get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=["RS256", "ES256"], audience=self.audience,
                              issuer=self.issuer, options=options)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired; get a new one.", headers=WWW_AUTHENTICATE) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The token is not valid: {exc}.", headers=WWW_AUTHENTICATE) from exc


def mint_token(secret: str, subject: str, role: str, *, issuer: str, audience: str, ttl_s: int = 900,
               unit_uscc: str | None = None, district_code: str | None = None, token_type: str = "access") -> str:
    """Sign an HS256 token (the embedded issuer and service-to-service calls use this)."""
    now = int(time.time())
    claims = {"sub": subject, "role": role, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_s,
              "jti": uuid.uuid4().hex, "typ": token_type}
    if unit_uscc:
        claims["unit_uscc"] = unit_uscc
    if district_code:
        claims["district_code"] = district_code
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; Unauthorized when absent or malformed."""
    if not authorization:
        raise Unauthorized("This endpoint needs a bearer token (Authorization: Bearer …).", headers=WWW_AUTHENTICATE)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be `Bearer <token>`.", headers=WWW_AUTHENTICATE)
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """Dependency: the verified caller of this request (async: the principal must land in the request's context)."""
    principal = request.app.state.verifier.verify(bearer_token(request.headers.get("authorization")))
    request.state.principal = principal
    principal_var.set(principal)  # read by the audit trail, which has no request at hand
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: str) -> Callable[..., Principal]:
    """Dependency factory: the caller must hold one of `roles` (service tokens always pass)."""
    allowed = set(roles) | {"service"}

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"The role '{principal.role}' may not do this; allowed: {', '.join(sorted(roles))}.")
        return principal

    check.roles = frozenset(roles)  # read by the OpenAPI annotation (x-roles) and the role matrix
    return check


def roles_of(dependant) -> frozenset[str] | None:
    """Roles a route admits, from its dependencies: a set, ROLES for any caller with a token, None if public."""
    found: frozenset[str] | None = None
    for dependency in dependant.dependencies:
        call = dependency.call
        if hasattr(call, "roles"):
            found = call.roles if found is None else found & call.roles
        elif call is authenticate and found is None:
            found = frozenset(r for r in ROLES if r != "service")
        inner = roles_of(dependency)
        if inner is not None:
            found = inner if found is None else found & inner
    return found


class ServiceTokens:
    """Short-lived tokens a service presents when it calls another service."""

    TTL_S = 300

    def __init__(self, service: str, secret: str, issuer: str, audience: str) -> None:
        self.service = service
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def header(self) -> dict[str, str]:
        """An Authorization header with a token valid for at least a minute."""
        with self._lock:
            if time.time() > self._expires - 60:
                self._token = mint_token(self.secret, self.service, "service", issuer=self.issuer,
                                         audience=self.audience, ttl_s=self.TTL_S)
                self._expires = time.time() + self.TTL_S
            return {"Authorization": f"Bearer {self._token}"}
