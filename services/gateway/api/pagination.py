"""Opaque cursors: the sort key of the last row, base64url-encoded JSON.

Keyset pagination stays fast at any depth (no OFFSET) and stable while rows arrive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from services.gateway.api.values import storable_bigint, storable_text, storable_timestamp


class BadCursorError(ValueError):
    """The cursor was not produced by this API (or was edited)."""


def encode_cursor(values: list[Any]) -> str:
    """Cursor for the row whose sort key is ``values``.

    >>> decode_cursor(encode_cursor(["2025-01-01T00:00:00+00:00", "abc"]), 2)
    ['2025-01-01T00:00:00+00:00', 'abc']
    """
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The sort key inside ``cursor``; raises BadCursorError with a hint when it is not ours.

    >>> try:
    ...     decode_cursor("xx", 2)
    ... except BadCursorError as exc:
    ...     print(str(exc)[:14])
    invalid cursor
    """
    hint = "invalid cursor: pass back the next_cursor value of the previous page unchanged"
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, UnicodeEncodeError) as exc:
        raise BadCursorError(hint) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadCursorError(hint)
    return values


def parse_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Decode and convert each sort-key value; any failure is a BadCursorError.

    >>> parse_cursor(encode_cursor([1.5, "i-1"]), number, text)
    (1.5, 'i-1')
    """
    values = decode_cursor(cursor, len(parsers))
    try:
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except (TypeError, ValueError) as exc:
        raise BadCursorError(
            "invalid cursor: pass back the next_cursor value of the previous page unchanged"
        ) from exc


# Cursor parts: each checks that the database can take the value, so an edited cursor
# is a 400 here and never a DataError (or an encoder overflow) in a query.


def timestamp(value: Any) -> datetime:
    """A cursor timestamp: ISO 8601 text, timezone-aware, within the storable range."""
    if not isinstance(value, str):
        raise TypeError("cursor timestamp must be text")
    parsed = datetime.fromisoformat(value)
    return storable_timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def text(value: Any) -> str:
    """A cursor string (an id): text without NUL."""
    if not isinstance(value, str):
        raise TypeError("cursor id must be text")
    return storable_text(value)


def bigint(value: Any) -> int:
    """A cursor integer (a bigint id); floats, booleans and huge numbers are refused."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("cursor id must be an integer")
    return storable_bigint(value)


def number(value: Any) -> float:
    """A cursor number (a sort value such as savings); JSON has no NaN or infinity."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError("cursor sort value must be a number")
    return float(value)
