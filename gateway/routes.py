"""The gateway's own API: OAuth2 token endpoint and user administration."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from common.auth import require_roles
from common.db import SessionDep
from common.pagination import Page, PageDep
from common.problems import BadRequest, problem_responses

from . import identity
from .schemas import TokenPair, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/auth", tags=["auth"])
AdminDep = Depends(require_roles("admin"))


@router.post("/token", response_model=TokenPair, responses=problem_responses(400, 401))
def issue_token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[Literal["password", "refresh_token"], Form(description="`password` or `refresh_token`")],
    username: Annotated[str | None, Form(description="Login name (password grant)")] = None,
    password: Annotated[str | None, Form(description="Password (password grant)")] = None,
    refresh_token: Annotated[str | None, Form(description="Refresh token (refresh grant)")] = None,
) -> TokenPair:
    """OAuth2 token endpoint: exchange a username and password, or a refresh token, for tokens."""
    settings = request.app.state.settings
    if grant_type == "password":
        if not username or not password:
            raise BadRequest("The password grant needs `username` and `password`.", error="invalid_request")
        # a sync route: argon2's tens of milliseconds of CPU run in the threadpool, off the event loop
        user = identity.authenticate_password(session, username, password)
        return identity.issue_tokens(settings, user)
    if not refresh_token:
        raise BadRequest("The refresh grant needs `refresh_token`.", error="invalid_request")
    return identity.refresh_tokens(session, settings, refresh_token)


def _read(user) -> UserRead:
    return UserRead.model_validate(user, from_attributes=True)


@router.post("/users", response_model=UserRead, status_code=201, dependencies=[AdminDep],
             responses=problem_responses(401, 403, 409))
def create_user(data: UserCreate, session: SessionDep) -> UserRead:
    """Create an account (admin)."""
    return _read(identity.create_user(session, data))


@router.get("/users", response_model=Page[UserRead], dependencies=[AdminDep], responses=problem_responses(401, 403))
def list_users(session: SessionDep, page: PageDep) -> Page[UserRead]:
    """List accounts (admin)."""
    users, total = identity.list_users(session, page.limit, page.offset)
    return Page[UserRead](items=[_read(u) for u in users], total=total, limit=page.limit, offset=page.offset)


@router.get("/users/{username}", response_model=UserRead, dependencies=[AdminDep],
            responses=problem_responses(401, 403, 404))
def get_user(username: str, session: SessionDep) -> UserRead:
    """One account (admin)."""
    return _read(identity.get_user(session, username))


@router.patch("/users/{username}", response_model=UserRead, dependencies=[AdminDep],
              responses=problem_responses(401, 403, 404))
def update_user(username: str, data: UserUpdate, session: SessionDep) -> UserRead:
    """Change an account's password, role, binding, or disable it (admin)."""
    return _read(identity.update_user(session, username, data))


def bootstrap(engine, settings) -> None:
    """Create the first admin and load the users file, in one transaction."""
    with Session(engine) as session:
        identity.bootstrap_users(session, settings)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another gateway process bootstrapped the same accounts at the same moment
