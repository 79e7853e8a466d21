"""Shared query parameters and the page builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Query

from services.gateway.api.pagination import encode_cursor

T = TypeVar("T")

# 50 rows fill a screen; 500 bounds one response to a few hundred KiB.
PAGE_DEFAULT = 50
PAGE_MAX = 500
# Free-text filter values longer than this cannot match anything we store.
FILTER_MAX = 256
ACCOUNT_PATTERN = r"^[0-9]{12}$"

Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="Page size.")]
Cursor = Annotated[
    str | None,
    Query(max_length=1024, description="next_cursor of the previous page."),
]
Account = Annotated[
    str | None, Query(pattern=ACCOUNT_PATTERN, description="12-digit AWS account id.")
]
Text = Annotated[str | None, Query(min_length=1, max_length=FILTER_MAX)]


def page(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> dict[str, Any]:
    """``{"items", "next_cursor"}`` from ``limit + 1`` fetched rows."""
    more = len(rows) > limit
    items = rows[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}
