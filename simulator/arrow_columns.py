"""Turn a line-item chunk's columns into Arrow arrays without per-row Python work."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def to_arrow(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    """A column of ``n`` values: None -> nulls, str -> constant, categorical -> ``typ``.

    ``typ`` may be a dictionary type, then categoricals keep their codes (no decoding).
    """
    if value is None:
        return pa.nulls(n, typ)
    if isinstance(value, str):
        indices = pa.array(np.zeros(n, dtype=np.int32))
        return pa.DictionaryArray.from_arrays(indices, pa.array([value])).cast(typ)
    if pa.types.is_dictionary(typ) and not isinstance(value, pd.Series | pd.Categorical):
        plain = value if isinstance(value, pa.Array) else pa.array(np.asarray(value), pa.string())
        return plain.dictionary_encode().cast(typ)
    if isinstance(value, pd.Series):
        value = value.array
    if isinstance(value, pd.Categorical):
        return pa.array(value).cast(typ)
    return pa.array(np.asarray(value), typ, from_pandas=True)


def hex_ids(ids: np.ndarray) -> pa.Array:
    """uint64 line ids as 16-character lowercase hex strings."""
    raw = ids.astype(">u8").tobytes().hex().encode()
    return pa.array(np.frombuffer(raw, dtype="S16")).cast(pa.string())


def build_table(values: dict[str, Any], schema: pa.Schema, n: int) -> pa.Table:
    """A table of ``schema`` from ``values`` (missing columns are null)."""
    return pa.Table.from_arrays(
        [to_arrow(values.get(f.name), n, f.type) for f in schema], schema=schema
    )
