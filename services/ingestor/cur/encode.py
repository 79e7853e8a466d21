"""Arrow record batches of any billing format straight to encoded line-item records.

The same rows, reasons and bytes as :meth:`BatchNormaliser.normalise` followed by
the shared codec, without a Python dict per row: each field becomes a column of
JSON fragments (``json_columns``) and one C++ kernel joins them into the bodies.
What is left per row in Python is the id (a SHA-256) and the record append.

The per-row dict path in ``normalise`` stays the readable definition; a unit test
holds this encoder to it byte for byte on every fixture format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from services.ingestor.cur import columns, values
from services.ingestor.cur import json_columns as jc
from services.ingestor.cur.normalise import (
    _NUMBER_FIELDS,
    _TIME_FIELDS,
    ALL_FIELDS,
    BatchNormaliser,
    Rejected,
)

_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
# Body fields in the order CostLineItem declares them (and model_dump writes them).
_BODY_FIELDS = (
    "id",
    "attempt_id",
    "delivery_id",
    "billing_period",
    "source_format",
    "source_file",
    "source_row",
    "usage_start",
    "usage_end",
    "account_id",
    "payer_account_id",
    "service",
    "usage_type",
    "operation",
    "region",
    "resource_id",
    "instance_type",
    "line_item_type",
    "unblended_cost",
    "net_cost",
    "amortized_cost",
    "list_cost",
    "usage_amount",
    "reservation_arn",
    "reservation_effective_cost",
    "savings_plan_arn",
    "savings_plan_effective_cost",
    "commitment_end",
    "currency",
    "tags",
)

# Text fields of the body and the JSON a null becomes (service and currency have defaults).
_TEXT_DEFAULTS = {
    "account_id": "null",
    "payer_account_id": "null",
    "service": '"Unknown"',
    "usage_type": "null",
    "operation": "null",
    "region": "null",
    "resource_id": "null",
    "instance_type": "null",
    "line_item_type": "null",
    "currency": '"USD"',
}


@dataclass
class AccountRows:
    """One account's accepted rows of a batch."""

    rows: int = 0
    cost: Decimal = field(default_factory=Decimal)
    payer: str | None = None


@dataclass
class EncodedBatch:
    """A batch as records: per accepted row its body, id and key; plus the rejects."""

    values: list[bytes]
    ids: list[str]
    accounts: list[str]
    per_account: dict[str, AccountRows]
    rejected: list[Rejected]


class BatchEncoder:
    """Encodes the batches of one file (the columns and context of its normaliser)."""

    def __init__(self, normaliser: BatchNormaliser) -> None:
        self.normaliser = normaliser
        ctx = normaliser.context
        self._id_prefix = hashlib.sha256(f"{ctx.delivery_key}\x1f{ctx.source_file}\x1f".encode())
        self._constants = {
            "attempt_id": ctx.attempt_id,
            "delivery_id": ctx.delivery_id,
            "billing_period": ctx.billing_period,
            "source_format": normaliser.spec.name,
            "source_file": ctx.source_file,
        }

    def _ids(self, rows: list[int]) -> list[str]:
        """``stable_id(delivery key, source file, row)`` for each row, one hash copy each."""
        copy = self._id_prefix.copy
        out = []
        for row in rows:
            h = copy()
            h.update(b"%d" % row)
            out.append(h.hexdigest()[:32])
        return out

    def _time(self, arr: pa.Array, column: str) -> tuple[pa.Array, columns.Errors]:
        """JSON datetimes (nulls for empty cells) and the cells that do not parse."""
        if pa.types.is_timestamp(arr.type):
            per_second = _UNIT_PER_SECOND[arr.type.unit]
            return jc.per_distinct(
                arr.cast(pa.int64()), lambda raw: datetime.fromtimestamp(raw / per_second, UTC)
            ), {}
        text = arr if pa.types.is_string(arr.type) else arr.cast(pa.string())
        encoded = pc.dictionary_encode(text)
        parsed: list[str | None] = []
        failed: dict[int, str] = {}
        for j, cell in enumerate(encoded.dictionary.to_pylist()):
            try:
                when = self.normaliser._times(cell, column)
            except values.CellError as exc:
                when, failed[j] = None, str(exc)
            parsed.append(None if when is None else orjson.dumps(when).decode())
        errors: columns.Errors = {}
        if failed:
            hit = pc.is_in(encoded.indices, value_set=pa.array(list(failed), encoded.indices.type))
            for i in pc.indices_nonzero(pc.fill_null(hit, False)).to_pylist():
                errors[i] = failed[encoded.indices[i].as_py()]
        return pc.take(pa.array(parsed, pa.string()), encoded.indices), errors

    def _tags(self, batch: pa.RecordBatch) -> tuple[pa.Array | str, columns.Errors]:
        spec, n = self.normaliser.spec, batch.num_rows
        column = spec.tags_column
        if column and column in batch.schema.names:
            arr = batch.column(column)
            if not self.normaliser.tag_columns:
                fast = _map_objects(arr, spec.strip_tag_prefixes)
                if fast is not None:
                    return fast, {}
            tags, errors = columns.tags_column(arr, column, spec.strip_tag_prefixes)
            if self.normaliser.tag_columns:
                tags = self.normaliser._legacy_tags(batch, tags)
            return jc.objects(tags), errors
        if not self.normaliser.tag_columns:
            return "{}", {}
        keys = [self._legacy_key(c) for c in self.normaliser.tag_columns]
        if len(set(keys)) < len(keys):  # two columns name one tag: the dict path decides
            return jc.objects(self.normaliser._legacy_tags(batch, [{}] * n)), {}
        # Each present tag as ',"key":value', absent ones empty; the first comma then goes.
        # (binary_join_element_wise's null_handling="skip" drops all-null rows in pyarrow 21.)
        entries = [
            pc.fill_null(
                jc.join(
                    "," + orjson.dumps(k).decode() + ":",
                    jc.strings(columns.clean_text(batch.column(c))),
                ),
                "",
            )
            for k, c in zip(keys, self.normaliser.tag_columns, strict=True)
        ]
        body = pc.replace_substring_regex(jc.join(*entries), "^,", "")
        return jc.join("{", body, "}"), {}

    def _legacy_key(self, column: str) -> str:
        key = column.split("/", 1)[1]
        for prefix in self.normaliser.spec.strip_tag_prefixes:
            key = key.removeprefix(prefix)
        return key

    def encode(
        self, batch: pa.RecordBatch, first_row: int, numbers: np.ndarray | None = None
    ) -> EncodedBatch:
        """Each row of ``batch`` as an encoded record or a Rejected, numbered from ``first_row``.

        ``numbers``: the rows' numbers in the file instead (a batch filtered to a share).
        """
        n = batch.num_rows
        if numbers is None:
            numbers = np.arange(first_row, first_row + n)
        frags: dict[str, pa.Array | str] = {}
        doubles: dict[str, pa.Array] = {}
        errors: columns.Errors = {}
        nulls = pa.nulls(n, pa.string())
        text: dict[str, pa.Array] = {}
        for name in ALL_FIELDS:
            column = self.normaliser.columns.get(name)
            if column is None:
                if name in _NUMBER_FIELDS:
                    doubles[name] = pa.nulls(n, pa.float64())
                if name not in _TEXT_DEFAULTS:
                    frags[name] = nulls
                continue
            arr = batch.column(column)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if name in _NUMBER_FIELDS:
                doubles[name], bad = columns.number_array(arr, column)
                frags[name] = jc.floats(doubles[name])
            elif name in _TIME_FIELDS:
                frags[name], bad = self._time(arr, column)
            else:
                text[name], bad = columns.clean_text(arr), {}
            for i, reason in bad.items():
                errors.setdefault(i, reason)
        frags["tags"], bad = self._tags(batch)
        for i, reason in bad.items():
            errors.setdefault(i, reason)
        amortised = self._amortised(doubles, text.get("line_item_type"))
        frags["amortized_cost"] = jc.floats(amortised)
        arns = _commitments(text, doubles, amortised, frags)
        frags["commitment_end"] = pc.if_else(
            pc.is_valid(arns["reservation_arn"]),
            frags.pop("ri_end"),
            pc.if_else(pc.is_valid(arns["savings_plan_arn"]), frags.pop("sp_end"), nulls),
        )
        frags["usage_end"] = pc.coalesce(frags["usage_end"], frags["usage_start"])

        account = text.get("account_id", nulls)
        start, cost = frags["usage_start"], doubles["unblended_cost"]
        missing = pc.or_(pc.or_(pc.is_null(account), pc.is_null(start)), pc.is_null(cost))
        refused = sorted(set(errors) | set(pc.indices_nonzero(missing).to_pylist()))
        rejected = self._rejected(batch, numbers, refused, errors, (account, start, cost))
        keep = np.ones(n, dtype=bool)
        keep[np.array(refused, dtype=np.int64)] = False
        mask = pa.array(keep) if rejected else None

        def accepted(arr: pa.Array) -> pa.Array:
            return arr if mask is None else arr.filter(mask)

        rows = numbers[keep].tolist()
        ids = self._ids(rows)
        parts: dict[str, list[pa.Array | str]] = {
            name: [value if isinstance(value, str) else pc.fill_null(accepted(value), jc.NULL)]
            for name, value in frags.items()
        }
        for name, default in _TEXT_DEFAULTS.items():
            parts[name] = _text_parts(accepted(text[name]) if name in text else None, default)
        for name, arn in arns.items():
            parts[name] = _text_parts(accepted(arn), "null")
        parts["id"] = ['"', pa.array(ids, pa.string()), '"']
        parts["source_row"] = [pa.array(rows, pa.int64()).cast(pa.string())]
        for name, constant in self._constants.items():
            parts[name] = [orjson.dumps(constant).decode()]
        layout: list[pa.Array | str] = []
        for i, name in enumerate(_BODY_FIELDS):
            layout += [("{" if i == 0 else ",") + f'"{name}":', *parts[name]]
        body = jc.rows(_merge_constants([*layout, "}"]), len(rows))
        accounts = columns.to_list(accepted(account))
        costs = parts["unblended_cost"][0]
        assert not isinstance(costs, str)  # a mapped, required column
        return EncodedBatch(
            values=body.cast(pa.binary()).to_numpy(zero_copy_only=False).tolist(),
            ids=ids,
            accounts=accounts,
            per_account=_per_account(
                accounts,
                columns.to_list(accepted(text.get("payer_account_id", nulls))),
                costs.to_pylist(),
            ),
            rejected=rejected,
        )

    def _rejected(
        self,
        batch: pa.RecordBatch,
        numbers: np.ndarray,
        bad: list[int],
        errors: columns.Errors,
        required: tuple[pa.Array, pa.Array, pa.Array],
    ) -> list[Rejected]:
        """Rows with a bad cell (the first field's reason) or no account, start or cost."""
        out = []
        for i in bad:
            account, start, cost = (arr[i].as_py() for arr in required)
            reason = errors.get(i) or self.normaliser._missing(account, start, cost) or ""
            out.append(Rejected(int(numbers[i]), reason, account, self.normaliser._raw(batch, i)))
        return out

    def _amortised(self, d: dict[str, pa.Array], line_type: pa.Array | None) -> pa.Array:
        """``amortised()`` column-wise: the file's value, else AWS's SP/RI rules, else unblended."""
        cost = d["unblended_cost"]
        if line_type is None:
            return pc.coalesce(d["amortized_cost"], cost)

        def when(kind: str | tuple[str, ...], value: pa.Array | None, then: Any, other: Any) -> Any:
            kinds = (kind,) if isinstance(kind, str) else kind
            hit = pc.is_in(line_type, value_set=pa.array(kinds))
            if value is not None:
                hit = pc.and_(hit, pc.is_valid(value))
            return pc.if_else(pc.fill_null(hit, False), then, other)

        zero = pa.scalar(0.0)
        upfront, recurring = d["ri_unused_upfront"], d["ri_unused_recurring"]
        # + 0.0 turns -0.0 into 0.0, as ``x or 0.0`` does in the dict path
        fee = pc.add(pc.add(pc.fill_null(upfront, zero), pc.fill_null(recurring, zero)), zero)
        out = when("RIFee", None, fee, cost)
        out = when("DiscountedUsage", d["ri_effective_cost"], d["ri_effective_cost"], out)
        out = when(("SavingsPlanNegation", "SavingsPlanUpfrontFee"), None, zero, out)
        out = when("SavingsPlanCoveredUsage", d["sp_effective_cost"], d["sp_effective_cost"], out)
        return pc.coalesce(d["amortized_cost"], out)


def _commitments(
    text: dict[str, pa.Array],
    doubles: dict[str, pa.Array],
    amortised: pa.Array,
    frags: dict[str, pa.Array | str],
) -> dict[str, pa.Array]:
    """:func:`normalise.commitment` column-wise: the RI and SP arns, their costs into ``frags``.

    A FOCUS ``CommitmentDiscountId`` names the RI or Savings Plan by its type when
    the row has no arn of that kind; its cost is then the row's effective cost. A
    cost without its arn is dropped.
    """
    n = len(amortised)
    no_text = pa.nulls(n, pa.string())
    arn = {
        "reservation": text.get("reservation_arn", no_text),
        "savings plan": text.get("savings_plan_arn", no_text),
    }
    cost = {
        "reservation": doubles["ri_effective_cost"],
        "savings plan": doubles["sp_effective_cost"],
    }
    focus_id = text.get("commitment_id")
    if focus_id is not None:
        kind = pc.utf8_lower(text.get("commitment_type", no_text))
        for name in arn:
            named = pc.and_(pc.is_valid(focus_id), pc.is_null(arn[name]))
            take = pc.fill_null(pc.and_(named, pc.equal(kind, name)), False)
            arn[name] = pc.if_else(take, focus_id, arn[name])
            cost[name] = pc.if_else(take, amortised, cost[name])
    for name, prefix in (("reservation", "reservation"), ("savings plan", "savings_plan")):
        kept = pc.if_else(pc.is_valid(arn[name]), cost[name], pa.nulls(n, pa.float64()))
        frags[f"{prefix}_effective_cost"] = jc.floats(kept)
    return {"reservation_arn": arn["reservation"], "savings_plan_arn": arn["savings plan"]}


def _text_parts(arr: pa.Array | None, default: str) -> list[pa.Array | str]:
    """A text field's parts: raw cells between quotes, else whole JSON fragments.

    The raw cells do when nothing needs escaping or a default (the common case).
    """
    if arr is None:
        return [default]
    if arr.null_count == 0 and not jc.needs_escape(arr):
        return ['"', arr, '"']
    fragments = jc.strings(arr)
    if default != "null":
        fragments = pc.coalesce(fragments, pa.scalar(default))
    return [pc.fill_null(fragments, jc.NULL)]


def _merge_constants(parts: list[pa.Array | str]) -> list[pa.Array | str]:
    """Adjacent constant fragments as one, so the join has fewer inputs."""
    out: list[pa.Array | str] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return out


def _per_account(
    accounts: list[str], payers: list[str | None], costs: list[str]
) -> dict[str, AccountRows]:
    """Rows, exact cost (``Decimal`` of each body's cost text) and first payer per account."""
    out: dict[str, AccountRows] = {}
    for account, payer, cost in zip(accounts, payers, costs, strict=True):
        tally = out.get(account)
        if tally is None:
            tally = out[account] = AccountRows(payer=payer)
        tally.rows += 1
        tally.cost += Decimal(cost)
    return out


def _map_objects(arr: pa.Array, strip: tuple[str, ...]) -> pa.Array | None:
    """A map column as JSON objects in C++, or None when the dict path must decide.

    That is when a cell or entry is null, or two entries of a row name the same
    tag once prefixes are stripped (a dict keeps the last value at the first place).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_map(arr.type) or arr.null_count or arr.items.null_count:
        return None
    keys = pc.dictionary_encode(arr.keys.cast(pa.string()))
    names = [values.strip_prefix(str(k), strip) for k in keys.dictionary.to_pylist()]
    unique_names = len(set(names)) == len(names)
    offsets = arr.offsets.to_numpy()
    lengths = np.diff(offsets)
    start, end = int(offsets[0]), int(offsets[-1])
    index = keys.indices.to_numpy()[start:end].astype(np.int64)
    row_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    slots = row_of * max(len(names), 1) + index
    if not unique_names or (len(slots) and np.bincount(slots).max() > 1):
        return None
    name_json = pa.array([orjson.dumps(k).decode() + ":" for k in names], pa.string())
    entries = jc.join(pc.take(name_json, keys.indices), jc.strings(arr.items.cast(pa.string())))
    return jc.list_objects(arr.offsets, entries)
