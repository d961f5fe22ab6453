"""Limit/offset paging with a total and a cap on the page size."""
from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_PAGE_SIZE = 200
MAX_OFFSET = 10_000_000  # beyond any listing here, and inside every database's integer range


class PageParams(BaseModel):
    """Which slice of a listing to return."""

    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (at most {MAX_PAGE_SIZE})")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> PageParams:
    """Dependency reading `limit` and `offset`."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T] = Field(description="The items of this page")
    total: int = Field(description="Number of items matching the filters, over all pages")
    limit: int = Field(description="Page size asked for")
    offset: int = Field(description="Items skipped")
