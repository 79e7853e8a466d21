"""Vectorised preparation of one Arrow column into Python values, with per-row errors.

Each function turns a whole batch column into a list (one value per row) and a
``{row index: reason}`` dict of cells that failed to parse. Work that is the
same for every row (trimming, null text, decimal-to-double) runs in Arrow's C++
kernels; timestamps and JSON tags are parsed once per distinct value, since a
billing file repeats the same hours and tag sets across thousands of rows.
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from services.ingestor.cur import values

Errors = dict[int, str]
_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@functools.cache
def _null_text() -> pa.Array:
    """The null-like cells as a set to look up in C++.

    Built on first use: pyarrow's Python converters import pandas, seconds at start-up.
    """
    return pa.array(sorted(values.NULL_TEXT), pa.string())


def to_list(arr: pa.Array, fill: object = 0) -> list[Any]:
    """``arr`` as a Python list with None for nulls, via NumPy (20x faster than ``to_pylist``)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count == 0 or pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr.to_numpy(zero_copy_only=False).tolist()  # type: ignore[no-any-return]
    out: list[Any] = pc.fill_null(arr, fill).to_numpy(zero_copy_only=False).tolist()
    for i in pc.indices_nonzero(pc.is_null(arr)).to_numpy().tolist():
        out[i] = None
    return out


def clean_text(arr: pa.Array) -> pa.Array:
    """Trimmed strings with null-like text (``""``, ``NULL``...) as real nulls."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    null_like = pc.is_in(arr, value_set=_null_text())
    if not pc.any(null_like).as_py():
        return arr
    return pc.if_else(null_like, pa.nulls(len(arr), arr.type), arr)


def text_column(arr: pa.Array) -> list[str | None]:
    """Strings, None for empty cells."""
    return to_list(clean_text(arr))


def number_column(arr: pa.Array, column: str) -> tuple[list[float | None], Errors]:
    """Finite floats (decimal text parsed exactly as ``float(text)`` would), None when empty."""
    doubles, errors = number_array(arr, column)
    return to_list(doubles, 0.0), errors


def number_array(arr: pa.Array, column: str) -> tuple[pa.Array, Errors]:
    """:func:`number_column` as a float64 Arrow array (nulls for empty and bad cells)."""
    errors: Errors = {}
    kind = arr.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        doubles = arr.cast(pa.float64())
    else:
        text = clean_text(arr)
        try:
            doubles = text.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            out: list[float | None] = []
            for i, cell in enumerate(text.to_pylist()):
                try:
                    out.append(values.number(cell, column))
                except values.CellError as exc:
                    out.append(None)
                    errors[i] = str(exc)
            return pa.array(out, pa.float64()), errors
        if pc.any(pc.match_substring(text, "_")).as_py():  # float() would accept it; we do not
            for i in pc.indices_nonzero(
                pc.fill_null(pc.match_substring(text, "_"), False)
            ).to_pylist():
                errors[i] = f"{column}: unparseable number {text[i].as_py()[:40]!r}"
    if isinstance(doubles, pa.ChunkedArray):
        doubles = doubles.combine_chunks()
    finite = pc.fill_null(pc.is_finite(doubles), True)
    if not pc.all(finite).as_py():
        bad = pc.invert(finite)
        for i, value in zip(
            pc.indices_nonzero(bad).to_pylist(), doubles.filter(bad).to_pylist(), strict=True
        ):
            errors[i] = f"{column}: non-finite number {value!r}"
    return doubles, errors


def time_column(
    arr: pa.Array, column: str, parser: values.TimeParser
) -> tuple[list[datetime | None], Errors]:
    """Aware UTC datetimes; parsed once per distinct value."""
    errors: Errors = {}
    if pa.types.is_timestamp(arr.type):
        per_second = _UNIT_PER_SECOND[arr.type.unit]
        cache: dict[int, datetime] = {}
        out: list[datetime | None] = []
        for raw in to_list(arr.cast(pa.int64())):
            if raw is None:
                out.append(None)
                continue
            when = cache.get(raw)
            if when is None:
                when = cache[raw] = datetime.fromtimestamp(raw / per_second, UTC)
            out.append(when)
        return out, errors
    encoded = pc.dictionary_encode(arr if pa.types.is_string(arr.type) else arr.cast(pa.string()))
    parsed: list[datetime | None] = []
    failed: dict[int, str] = {}
    for j, cell in enumerate(to_list(encoded.dictionary)):
        try:
            parsed.append(parser(cell, column))
        except values.CellError as exc:
            parsed.append(None)
            failed[j] = str(exc)
    result: list[datetime | None] = []
    for i, j in enumerate(to_list(encoded.indices)):
        if j is None:
            result.append(None)
            continue
        if j in failed:
            errors[i] = failed[j]
        result.append(parsed[j])
    return result, errors


def _map_tags(arr: pa.MapArray, strip: tuple[str, ...]) -> list[dict[str, str]]:
    """Map cells to dicts from the flattened keys/items (keys de-prefixed once each)."""
    offsets = arr.offsets.to_numpy().tolist()
    keys = pc.dictionary_encode(arr.keys.cast(pa.string()))
    names = [values.strip_prefix(str(k), strip) for k in to_list(keys.dictionary)]
    flat_keys = [names[j] for j in to_list(keys.indices)]
    flat_items = to_list(arr.items.cast(pa.string()))
    return [
        dict(zip(flat_keys[a:b], flat_items[a:b], strict=True))
        for a, b in itertools.pairwise(offsets)
    ]


def tags_column(
    arr: pa.Array, column: str, strip: tuple[str, ...]
) -> tuple[list[dict[str, str]], Errors]:
    """Tag dicts from a map column (per row) or JSON text (once per distinct value)."""
    errors: Errors = {}
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_map(arr.type) and arr.null_count == 0 and arr.items.null_count == 0:
        return _map_tags(arr, strip), errors
    if pa.types.is_map(arr.type) or pa.types.is_list(arr.type) or pa.types.is_struct(arr.type):
        out = []
        for i, cell in enumerate(arr.to_pylist()):
            try:
                out.append(values.tags_from_cell(cell, column, strip))
            except values.CellError as exc:
                out.append({})
                errors[i] = str(exc)
        return out, errors
    encoded = pc.dictionary_encode(arr if pa.types.is_string(arr.type) else arr.cast(pa.string()))
    parsed: list[dict[str, str]] = []
    failed: dict[int, str] = {}
    for j, cell in enumerate(to_list(encoded.dictionary)):
        try:
            parsed.append(values.tags_from_cell(cell, column, strip))
        except values.CellError as exc:
            parsed.append({})
            failed[j] = str(exc)
    result: list[dict[str, str]] = []
    for i, j in enumerate(to_list(encoded.indices)):
        if j is None:
            result.append({})
            continue
        if j in failed:
            errors[i] = failed[j]
        result.append(parsed[j])  # shared per distinct value: callers must not mutate
    return result, errors
