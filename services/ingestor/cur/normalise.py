"""Turn Arrow record batches of any billing format into normalised line-item dicts.

The output dicts have exactly the fields of :class:`shared.events.cur.CostLineItem`
so the pipeline can build events without re-validating each row. Rows that
cannot be parsed come out as :class:`Rejected` with the file, row and reason.

Idempotency key: ``stable_id(delivery key, source file, row number)``. The
delivery key holds the manifest's assembly/execution id, the file key is unique
in the delivery and the row number is unique in the file, so two distinct rows
never share an id, even when every column is identical (legacy CUR's
``identity/LineItemId`` repeats across hours and is therefore not used), while a
re-ingest of the same delivery reproduces the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from services.ingestor.cur import columns, values
from services.ingestor.cur.formats import FormatSpec
from shared.events import stable_id

# Dead-letter bodies keep only the columns we read, so a 300-column row stays small.
REJECT_PREVIEW_CHARS = 2_000
_COST_FIELDS = ("net_cost", "list_cost", "usage_amount")
_AMORTISATION_INPUTS = (
    "sp_effective_cost",
    "ri_effective_cost",
    "ri_unused_upfront",
    "ri_unused_recurring",
    "amortized_cost",
)
_TEXT_FIELDS = ("usage_type", "operation", "region", "resource_id", "instance_type")
# Which commitment covered a row: CUR names the RI and the Savings Plan in their own
# columns; FOCUS has one id column and says which kind in another.
_COMMITMENT_FIELDS = ("reservation_arn", "savings_plan_arn", "commitment_id", "commitment_type")
# A commitment's term end: the RI's on RI rows, the Savings Plan's on SP rows.
_END_FIELDS = ("ri_end", "sp_end")
_TIME_FIELDS = frozenset({"usage_start", "usage_end", *_END_FIELDS})
_NUMBER_FIELDS = frozenset({"unblended_cost", *_COST_FIELDS, *_AMORTISATION_INPUTS})
_AMORTISED_TYPES = frozenset(
    {
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanUpfrontFee",
        "DiscountedUsage",
        "RIFee",
    }
)
_NO_TAGS: dict[str, str] = {}
# Column order the row loop unpacks (first nine by name, the rest by position).
_ROW_FIELDS = (
    "account_id",
    "usage_start",
    "usage_end",
    "unblended_cost",
    "line_item_type",
    "amortized_cost",
    "payer_account_id",
    "service",
    "currency",
    "usage_type",
    "operation",
    "region",
    "resource_id",
    "instance_type",
    "net_cost",
    "list_cost",
    "usage_amount",
    "tags",
    "sp_effective_cost",
    "ri_effective_cost",
    *_COMMITMENT_FIELDS,
)
# Every field any format may map; a field a file lacks reads as None.
ALL_FIELDS = (
    "account_id",
    "payer_account_id",
    "usage_start",
    "usage_end",
    "service",
    "line_item_type",
    "unblended_cost",
    "currency",
    *_COST_FIELDS,
    *_AMORTISATION_INPUTS,
    *_TEXT_FIELDS,
    *_COMMITMENT_FIELDS,
    *_END_FIELDS,
)


@dataclass(frozen=True)
class FileContext:
    """What every row of one file shares."""

    attempt_id: str
    delivery_id: str
    delivery_key: str
    billing_period: date
    source_file: str


@dataclass(frozen=True)
class Rejected:
    """A row that could not be normalised."""

    source_row: int
    reason: str
    account_id: str | None
    raw: dict[str, Any]


def amortised(line_item_type: str | None, unblended: float, row: dict[str, Any]) -> float:
    """Amortised (effective) cost by AWS's rules for Savings Plans and Reserved Instances."""
    if line_item_type == "SavingsPlanCoveredUsage" and row["sp_effective_cost"] is not None:
        return float(row["sp_effective_cost"])
    if line_item_type in ("SavingsPlanNegation", "SavingsPlanUpfrontFee"):
        return 0.0
    if line_item_type == "DiscountedUsage" and row["ri_effective_cost"] is not None:
        return float(row["ri_effective_cost"])
    if line_item_type == "RIFee":
        return float(row["ri_unused_upfront"] or 0.0) + float(row["ri_unused_recurring"] or 0.0)
    return unblended


def commitment(
    row: tuple[Any, ...], effective: float
) -> tuple[str | None, float | None, str | None, float | None]:
    """(RI arn, RI effective cost, SP arn, SP effective cost) of a row's commitment columns.

    ``row`` ends with ``sp_effective_cost, ri_effective_cost, *_COMMITMENT_FIELDS``.
    A FOCUS row names the commitment in ``CommitmentDiscountId``; its
    ``EffectiveCost`` (``effective``) is then the commitment's cost for the usage.
    """
    sp_cost, ri_cost, ri_arn, sp_arn, focus_id, focus_type = row[-6:]
    if focus_id is not None:
        kind = (focus_type or "").lower()
        if kind == "reservation" and ri_arn is None:
            ri_arn, ri_cost = focus_id, effective
        elif kind == "savings plan" and sp_arn is None:
            sp_arn, sp_cost = focus_id, effective
    return ri_arn, ri_cost if ri_arn else None, sp_arn, sp_cost if sp_arn else None


class BatchNormaliser:
    """Normalises the batches of one file, column by column (see ``columns``)."""

    def __init__(self, spec: FormatSpec, header: list[str], context: FileContext) -> None:
        self.spec = spec
        self.context = context
        self.columns = spec.resolve(header)
        prefixes = spec.tag_prefixes
        self.tag_columns = [c for c in header if prefixes and c.startswith(prefixes)]
        self._times = values.TimeParser()

    def _prepare(self, batch: pa.RecordBatch) -> tuple[dict[str, list[Any]], dict[int, str]]:
        n = batch.num_rows
        cols: dict[str, list[Any]] = {}
        errors: dict[int, str] = {}
        for name in ALL_FIELDS:
            column = self.columns.get(name)
            if column is None:
                cols[name] = [None] * n
                continue
            arr = batch.column(column)
            if name in _NUMBER_FIELDS:
                cols[name], bad = columns.number_column(arr, column)
            elif name in _TIME_FIELDS:
                cols[name], bad = columns.time_column(arr, column, self._times)
            else:
                cols[name], bad = columns.text_column(arr), {}
            for i, reason in bad.items():
                errors.setdefault(i, reason)
        tags_column = self.spec.tags_column
        if tags_column and tags_column in batch.schema.names:
            cols["tags"], bad = columns.tags_column(
                batch.column(tags_column), tags_column, self.spec.strip_tag_prefixes
            )
            for i, reason in bad.items():
                errors.setdefault(i, reason)
        else:
            cols["tags"] = [_NO_TAGS] * n
        if self.tag_columns:
            cols["tags"] = self._legacy_tags(batch, cols["tags"])
        return cols, errors

    def _legacy_tags(
        self, batch: pa.RecordBatch, base: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        out = [dict(t) for t in base]
        for column in self.tag_columns:
            key = column.split("/", 1)[1]
            for prefix in self.spec.strip_tag_prefixes:
                key = key.removeprefix(prefix)
            for i, value in enumerate(columns.text_column(batch.column(column))):
                if value is not None:
                    out[i][key] = value
        return out

    def normalise(
        self, batch: pa.RecordBatch, first_row: int
    ) -> tuple[list[dict[str, Any]], list[Rejected]]:
        """Each row of ``batch`` as a line-item dict or a Rejected, numbered from ``first_row``."""
        cols, errors = self._prepare(batch)
        ctx = self.context
        key, source_file, fmt = ctx.delivery_key, ctx.source_file, self.spec.name
        attempt_id, delivery_id, period = ctx.attempt_id, ctx.delivery_id, ctx.billing_period
        items: list[dict[str, Any]] = []
        rejected: list[Rejected] = []
        rows = zip(*(cols[f] for f in _ROW_FIELDS), strict=True)
        for i, row in enumerate(rows):
            (account, start, end, cost, line_type, effective, payer, service, currency) = row[:9]
            reason = errors.get(i) if errors else None
            if reason is None and (account is None or start is None or cost is None):
                reason = self._missing(account, start, cost)
            if reason is not None:
                rejected.append(Rejected(first_row + i, reason, account, self._raw(batch, i)))
                continue
            if effective is None:
                effective = cost
                if line_type in _AMORTISED_TYPES:
                    inputs = {f: cols[f][i] for f in _AMORTISATION_INPUTS}
                    effective = amortised(line_type, cost, inputs)
            source_row = first_row + i
            ri_arn, ri_cost, sp_arn, sp_cost = commitment(row, effective)
            items.append(
                {
                    "id": stable_id(key, source_file, source_row),
                    "attempt_id": attempt_id,
                    "delivery_id": delivery_id,
                    "billing_period": period,
                    "source_format": fmt,
                    "source_file": source_file,
                    "source_row": source_row,
                    "usage_start": start,
                    "usage_end": end or start,
                    "account_id": account,
                    "payer_account_id": payer,
                    "service": service or "Unknown",
                    "usage_type": row[9],
                    "operation": row[10],
                    "region": row[11],
                    "resource_id": row[12],
                    "instance_type": row[13],
                    "line_item_type": line_type,
                    "unblended_cost": cost,
                    "net_cost": row[14],
                    "amortized_cost": effective,
                    "list_cost": row[15],
                    "usage_amount": row[16],
                    "reservation_arn": ri_arn,
                    "reservation_effective_cost": ri_cost,
                    "savings_plan_arn": sp_arn,
                    "savings_plan_effective_cost": sp_cost,
                    "commitment_end": (
                        cols["ri_end"][i] if ri_arn else cols["sp_end"][i] if sp_arn else None
                    ),
                    "currency": currency or "USD",
                    "tags": row[17],
                }
            )
        return items, rejected

    def _missing(self, account: Any, start: Any, cost: Any) -> str | None:
        if account is None:
            return f"{self.columns['account_id']}: missing account id"
        if start is None:
            return f"{self.columns['usage_start']}: missing usage start"
        if cost is None:
            return f"{self.columns['unblended_cost']}: missing cost"
        return None

    def _raw(self, batch: pa.RecordBatch, i: int) -> dict[str, Any]:
        wanted = [*self.columns.values(), *self.tag_columns]
        if self.spec.tags_column and self.spec.tags_column in batch.schema.names:
            wanted.append(self.spec.tags_column)
        return {c: batch.column(c)[i].as_py() for c in dict.fromkeys(wanted)}

    def rows(self, batch: pa.RecordBatch, first_row: int) -> Iterator[dict[str, Any] | Rejected]:
        """Rows in file order: a line-item dict or a Rejected each."""
        items, rejected = self.normalise(batch, first_row)
        if not rejected:
            yield from items
            return
        merged: list[dict[str, Any] | Rejected] = [*items, *rejected]
        merged.sort(key=lambda o: o.source_row if isinstance(o, Rejected) else o["source_row"])
        yield from merged
