"""Values PostgreSQL can store: the one check every id, filter, cursor part and body string passes.

A request value the database (or asyncpg's encoder) cannot take used to reach
it and come back as a 500 (NUL in text) or as a 503 "database unavailable"
(an aware timestamp whose UTC value leaves Python's range, an integer beyond
64 bits). These checks run before the database is touched, with a message
that says what to send instead; ``error_responses`` maps any DataError that
still gets through to 400.

>>> storable_text("EC2")
'EC2'
>>> storable_bigint(2**63)
Traceback (most recent call last):
ValueError: integer out of range: must fit in 64 bits (-9223372036854775808..9223372036854775807)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1


def storable_text(value: str) -> str:
    """``value`` unless it holds NUL (PostgreSQL text cannot) or a lone surrogate (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def storable_bigint(value: int) -> int:
    """``value`` if it fits PostgreSQL's bigint."""
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError(f"integer out of range: must fit in 64 bits ({BIGINT_MIN}..{BIGINT_MAX})")
    return value


def storable_timestamp(value: datetime) -> datetime:
    """``value`` if it is aware and its UTC instant is representable (asyncpg sends UTC).

    >>> storable_timestamp(datetime.fromisoformat("0001-01-01T00:00:00+14:00"))
    Traceback (most recent call last):
    ValueError: timestamp out of range: its UTC time must fall within years 1..9999
    """
    if value.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset, e.g. 2025-03-01T00:00:00Z")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "timestamp out of range: its UTC time must fall within years 1..9999"
        ) from None
    return value


#: Text for a query, path or body field: storable, or a 422 naming the field.
StoredText = Annotated[str, AfterValidator(storable_text)]
#: An integer for a bigint column.
BigInt = Annotated[int, AfterValidator(storable_bigint)]
