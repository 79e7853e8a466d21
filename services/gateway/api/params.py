"""Shared query parameters and the page builder."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args, get_origin

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from fastapi.requests import HTTPConnection
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from services.gateway.api.pagination import encode_cursor
from services.gateway.api.values import StoredText, storable_timestamp
from shared.events.costs import tag_segment

T = TypeVar("T")

# 50 rows fill a screen; 500 bounds one response to a few hundred KiB.
PAGE_DEFAULT = 50
PAGE_MAX = 500
# Free-text filter values longer than this cannot match anything we store.
FILTER_MAX = 256
ACCOUNT_PATTERN = r"^[0-9]{12}$"
# The widest legitimate request (a service filter list of 50 plus a dozen filters)
# stays far below this; anything above is refused before authentication.
QUERY_PARAMS_MAX = 200

Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="Page size.")]
Cursor = Annotated[
    StoredText | None,
    Query(max_length=1024, description="next_cursor of the previous page."),
]
Account = Annotated[
    str | None, Query(pattern=ACCOUNT_PATTERN, description="12-digit AWS account id.")
]
Text = Annotated[StoredText | None, Query(min_length=1, max_length=FILTER_MAX)]
# AWS caps tag keys at 128 characters and values at 256.
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256


def _tag_filter(value: str | None) -> str | None:
    """``key:value`` -> the ``key=value`` segment tag series ids carry (shared.events.costs)."""
    if value is None:
        return None
    key, colon, tag_value = value.partition(":")
    if not colon or not key:
        raise ValueError(
            "expected key:value (the key is everything before the first colon), e.g. "
            "team:payments; key: (empty value) selects spend without the key, key:* the "
            "values past the per-account cap"
        )
    if len(key) > TAG_KEY_MAX or len(tag_value) > TAG_VALUE_MAX:
        raise ValueError(f"tag keys have at most {TAG_KEY_MAX} characters, values {TAG_VALUE_MAX}")
    return tag_segment(key, tag_value)


#: ``tag=key:value``: only the tag series of that value (see the anomaly service README).
TagFilter = Annotated[
    StoredText | None,
    Query(
        min_length=2,
        max_length=TAG_KEY_MAX + 1 + TAG_VALUE_MAX,
        description=(
            "Cost-allocation tag series, as key:value (team:payments). key: is the spend "
            "without that key, key:* the values past the per-account cap. Only tag series "
            "match; tag keys are the anomaly service's SPENDSTREAM_ANOMALY_TAG_KEYS."
        ),
        examples=["team:payments"],
    ),
    AfterValidator(_tag_filter),
]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_only(value: object) -> object:
    """Refuse unix numbers and bare dates that pydantic would otherwise coerce."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2025-03-01T00:00:00Z")
    return value


#: An RFC 3339 timestamp with an offset (what the OpenAPI ``date-time`` format means).
Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(storable_timestamp)
]


def page(rows: list[T], limit: int, key: Callable[[T], list[Any]]) -> dict[str, Any]:
    """``{"items", "next_cursor"}`` from ``limit + 1`` fetched rows."""
    more = len(rows) > limit
    items = rows[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))


async def reject_repeated_query(request: HTTPConnection) -> None:
    """422 when a single-valued query parameter is given twice (``?a=1&a=2``).

    Starlette would silently keep the last value; a client that sends two values
    means something we would not do, so it is told. ``async`` although it never
    awaits: FastAPI would run a plain function in its thread pool, a thread hop
    on every request for a few microseconds of work.
    """
    # The parameter count is capped earlier, on the raw bytes (middleware.QueryCap).
    items = request.query_params.multi_items()
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    # One pass (a Counter), not a getlist() per item: the check runs before
    # authentication, so its cost must stay linear in what a stranger sends.
    counts = Counter(k for k, _ in items)
    repeated = {k for k, n in counts.items() if n > 1}
    if not repeated:
        return
    lists = {p.alias for p in dependant.query_params if _is_list(p.field_info.annotation)}
    for name in sorted(repeated - lists):
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"{name} takes one value; it was given {counts[name]}",
                    "type": "value_error",
                    "input": None,
                }
            ]
        )
