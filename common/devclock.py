"""The programme's calendar moved by hand, outside production: a replayed edition's notice period must pass."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from .auth import require_roles
from .clock import Clock


class ClockState(BaseModel):
    """The instant a service's fixed clock shows."""

    service: str = Field(description="Which service answered")
    now: datetime = Field(description="The instant the clock shows, in UTC")


class ClockSet(BaseModel):
    """The instant to fix the clock to."""

    now: datetime = Field(description="An instant with its offset, e.g. 2025-12-24T09:00:00+08:00 "
                                      "(no offset: Asia/Shanghai)")


def dev_clock_router(service: str) -> APIRouter:
    """`GET`/`PUT /dev/clock` for the admin; mounted only on a process started with a fixed clock."""
    # kept out of the OpenAPI documents: no deployment has it (production refuses a fixed clock), and the
    # committed contract is the production one
    router = APIRouter(prefix="/dev", include_in_schema=False,
                       dependencies=[Depends(require_roles("admin"))])

    @router.get("/clock", response_model=ClockState)
    def read_clock(request: Request) -> ClockState:
        """The instant this service's clock shows."""
        return ClockState(service=service, now=request.app.state.clock.now())

    @router.put("/clock", response_model=ClockState)
    def set_clock(data: ClockSet, request: Request) -> ClockState:
        """Fix this service's clock to another instant (a demo moving past a notice period)."""
        # one Clock object per process, read at each use: the next request already sees the new instant
        clock: Clock = request.app.state.clock
        clock.fix(data.now)
        return ClockState(service=service, now=clock.now())

    return router
