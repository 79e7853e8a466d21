"""Parse one cell: decimal text or native number, timestamps, tags. Errors say what was wrong.

Costs arrive as decimal text in CSV (``0.00000080000``) and as doubles in
Parquet. ``float(text)`` is correctly rounded, so ``repr`` of the result
round-trips to the same decimal value and downstream ``Decimal(repr(x))`` sums
reproduce the file's totals exactly.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import orjson

# Text that billing exports use for "no value".
NULL_TEXT = frozenset({"", "NULL", "null", "None", "NaN"})


class CellError(ValueError):
    """One cell cannot be parsed; the message becomes the dead-letter reason."""


def number(value: Any, column: str) -> float | None:
    """A finite float from decimal text or a native number; None when the cell is empty.

    >>> number("0.00000080000", "BilledCost")
    8e-07
    >>> number("", "BilledCost") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(f"{column}: non-finite number {value!r}")
        return value
    if isinstance(value, int):
        return float(value)
    text = str(value).strip()
    if text in NULL_TEXT:
        return None
    try:
        parsed = float(text)
    except ValueError:
        raise CellError(f"{column}: unparseable number {text[:40]!r}") from None
    if "_" in text or not math.isfinite(parsed):
        raise CellError(f"{column}: unparseable number {text[:40]!r}")
    return parsed


def text(value: Any) -> str | None:
    """A stripped string, or None for empty / NULL cells."""
    if value is None:
        return None
    out = str(value).strip()
    return None if out in NULL_TEXT else out


class TimeParser:
    """ISO-8601 timestamps to aware UTC datetimes, cached (a file repeats the same hours)."""

    def __init__(self) -> None:
        self._cache: dict[Any, datetime] = {}

    def __call__(self, value: Any, column: str) -> datetime | None:
        """Parse ``value``; None when empty; CellError when unparseable."""
        if value is None:
            return None
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        if isinstance(value, datetime):
            parsed = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
        else:
            raw = str(value).strip()
            if raw in NULL_TEXT:
                return None
            try:
                parsed = datetime.fromisoformat(raw)
            except ValueError:
                raise CellError(f"{column}: unparseable timestamp {raw[:40]!r}") from None
            parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if len(self._cache) < 100_000:  # bounded: a month of hours is ~744 values
            self._cache[value] = parsed
        return parsed


def strip_prefix(key: str, prefixes: tuple[str, ...]) -> str:
    """``key`` without the first of ``prefixes`` it starts with."""
    for prefix in prefixes:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def tags_from_cell(value: Any, column: str, strip: tuple[str, ...] = ()) -> dict[str, str]:
    """Tags from a CUR 2.0 map (pairs or dict) or a FOCUS JSON object; empty when absent.

    >>> tags_from_cell('{"env": "prod"}', "Tags")
    {'env': 'prod'}
    >>> tags_from_cell([("user_team", "a")], "resource_tags", ("user_",))
    {'team': 'a'}
    """
    if value is None:
        return {}
    if isinstance(value, str):
        raw = value.strip()
        if raw in NULL_TEXT:
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise CellError(f"{column}: tags are not a JSON object: {raw[:60]!r}") from None
    pairs = value.items() if isinstance(value, dict) else value
    try:
        return {strip_prefix(str(k), strip): str(v) for k, v in pairs if v is not None and v != ""}
    except (TypeError, ValueError):
        raise CellError(f"{column}: tags are not key/value pairs") from None
