"""The embedded token issuer: user accounts, password checks (argon2) and access/refresh tokens."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import jwt
import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, func, select

from common.auth import mint_token
from common.problems import Conflict, NotFound, Unauthorized, Unprocessable

from .models import UserAccount
from .schemas import TokenPair, UserCreate, UserUpdate
from .settings import GatewaySettings

_hasher = PasswordHasher()
# a hash to verify against when the user does not exist, so that timing does not tell who exists
_DUMMY_HASH = _hasher.hash("no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_binding(role: str, unit_uscc: str | None, district_code: str | None) -> None:
    """An applicant acts for one unit, a district officer for one district (and only they are bound)."""
    if role == "applicant" and not unit_uscc:
        raise Unprocessable("An applicant account must be bound to a unit: give unit_uscc.",
                            errors=[{"field": "body.unit_uscc", "message": "required for role applicant",
                                     "code": "missing"}])
    if role == "district_officer" and not district_code:
        raise Unprocessable("A district officer account must be bound to a district: give district_code.",
                            errors=[{"field": "body.district_code", "message": "required for role district_officer",
                                     "code": "missing"}])


def create_user(session: Session, data: UserCreate) -> UserAccount:
    """Add an account; 409 when the username is taken."""
    if session.get(UserAccount, data.username) is not None:
        raise Conflict(f"The username '{data.username}' is taken.")
    _check_binding(data.role, data.unit_uscc, data.district_code)
    now = _now()
    user = UserAccount(username=data.username, password_hash=hash_password(data.password.get_secret_value()),
                       role=data.role, unit_uscc=data.unit_uscc, district_code=data.district_code, active=True,
                       created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, username: str, data: UserUpdate) -> UserAccount:
    """Change an account's password, role, binding or active flag."""
    user = get_user(session, username)
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        user.password_hash = hash_password(data.password.get_secret_value())
    for key in ("role", "unit_uscc", "district_code", "active"):
        if key in changes:
            setattr(user, key, changes[key])
    _check_binding(user.role, user.unit_uscc, user.district_code)
    user.updated_at = _now()
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> UserAccount:
    """An account by username; 404 when absent."""
    user = session.get(UserAccount, username)
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def list_users(session: Session, limit: int, offset: int) -> tuple[list[UserAccount], int]:
    """A page of accounts by username, and how many there are."""
    total = session.exec(select(func.count()).select_from(UserAccount)).one()
    rows = session.exec(select(UserAccount).order_by(UserAccount.username).limit(limit).offset(offset)).all()
    return list(rows), total


def authenticate_password(session: Session, username: str, password: str) -> UserAccount:
    """The active account these credentials open; one vague 401 otherwise (no hint which part was wrong)."""
    user = session.get(UserAccount, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.active:
        raise Unauthorized("Unknown user or wrong password.", error="invalid_grant")
    return user


def issue_tokens(settings: GatewaySettings, user: UserAccount) -> TokenPair:
    """A short-lived access token and a longer refresh token for an account."""
    secret = settings.jwt_secret.get_secret_value()
    common = dict(issuer=settings.jwt_issuer, audience=settings.jwt_audience, unit_uscc=user.unit_uscc,
                  district_code=user.district_code)
    access = mint_token(secret, user.username, user.role, ttl_s=settings.access_token_ttl_s, **common)
    refresh = mint_token(secret, user.username, user.role, ttl_s=settings.refresh_token_ttl_s,
                         token_type="refresh", **common)
    return TokenPair(access_token=access, token_type="bearer", expires_in=settings.access_token_ttl_s,
                     refresh_token=refresh, role=user.role)


def refresh_tokens(session: Session, settings: GatewaySettings, refresh_token: str) -> TokenPair:
    """New tokens for a valid refresh token whose account is still active."""
    try:
        claims = jwt.decode(refresh_token, settings.jwt_secret.get_secret_value(), algorithms=["HS256"],
                            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"The refresh token is not valid: {exc}.", error="invalid_grant") from exc
    if claims.get("typ") != "refresh":
        raise Unauthorized("That is not a refresh token.", error="invalid_grant")
    user = session.get(UserAccount, claims["sub"])
    if user is None or not user.active:
        raise Unauthorized("The account of this refresh token is no longer active.", error="invalid_grant")
    return issue_tokens(settings, user)


def bootstrap_users(session: Session, settings: GatewaySettings) -> None:
    """Load the users file, and make the `admin` account when there is no account at all."""
    if settings.users_file is not None:
        load_users_file(session, settings.users_file)
    if session.exec(select(func.count()).select_from(UserAccount)).one() == 0:
        now = _now()
        session.add(UserAccount(username="admin", role="admin", active=True, created_at=now, updated_at=now,
                                password_hash=hash_password(settings.bootstrap_admin_password.get_secret_value())))


def load_users_file(session: Session, path: Path) -> None:
    """Upsert the accounts of a YAML users file (each with `password_hash`, or `password` for development)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for entry in entries:
        password_hash = entry.get("password_hash") or hash_password(str(entry["password"]))
        _check_binding(entry["role"], entry.get("unit_uscc"), entry.get("district_code"))
        now = _now()
        user = session.get(UserAccount, entry["username"]) or UserAccount(
            username=entry["username"], password_hash=password_hash, role=entry["role"], created_at=now,
            updated_at=now)
        user.password_hash = password_hash
        user.role = entry["role"]
        user.unit_uscc = entry.get("unit_uscc")
        user.district_code = entry.get("district_code")
        user.active = entry.get("active", True)
        user.updated_at = now
        session.add(user)
