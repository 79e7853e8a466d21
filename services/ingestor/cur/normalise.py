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

from services.ingestor.cur import values
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


class BatchNormaliser:
    """Normalises the batches of one file; keeps only a small timestamp cache."""

    def __init__(self, spec: FormatSpec, header: list[str], context: FileContext) -> None:
        self.spec = spec
        self.context = context
        self.columns = spec.resolve(header)
        self.tag_columns = [
            c for c in header if spec.tag_prefixes and c.startswith(spec.tag_prefixes)
        ]
        self._times = values.TimeParser()

    def _column(self, batch: pa.RecordBatch, name: str) -> list[Any]:
        column = self.columns.get(name)
        if column is None:
            return [None] * batch.num_rows
        return batch.column(column).to_pylist()

    def rows(self, batch: pa.RecordBatch, first_row: int) -> Iterator[dict[str, Any] | Rejected]:
        """Yield one normalised dict or Rejected per row; ``first_row`` numbers them (1-based)."""
        names = ALL_FIELDS
        cols = {name: self._column(batch, name) for name in names}
        tag_cols = {c: batch.column(c).to_pylist() for c in self.tag_columns}
        tags_cell = (
            batch.column(self.spec.tags_column).to_pylist()
            if self.spec.tags_column and self.spec.tags_column in batch.schema.names
            else None
        )
        for i in range(batch.num_rows):
            row = {name: cols[name][i] for name in names}
            source_row = first_row + i
            try:
                yield self._normalise(row, source_row, tag_cols, tags_cell, i)
            except values.CellError as exc:
                account = values.text(row["account_id"])
                yield Rejected(source_row, str(exc), account, self._raw(row, tag_cols, i))

    def _raw(self, row: dict[str, Any], tag_cols: dict[str, list[Any]], i: int) -> dict[str, Any]:
        raw = {self.columns[k]: v for k, v in row.items() if k in self.columns}
        raw.update({c: v[i] for c, v in tag_cols.items() if v[i]})
        return raw

    def _normalise(
        self,
        row: dict[str, Any],
        source_row: int,
        tag_cols: dict[str, list[Any]],
        tags_cell: list[Any] | None,
        i: int,
    ) -> dict[str, Any]:
        spec = self.spec
        account = values.text(row["account_id"])
        if account is None:
            raise values.CellError(f"{self.columns['account_id']}: missing account id")
        start = self._times(row["usage_start"], self.columns["usage_start"])
        if start is None:
            raise values.CellError(f"{self.columns['usage_start']}: missing usage start")
        end = self._times(row["usage_end"], self.columns.get("usage_end", "usage_end")) or start
        unblended = values.number(row["unblended_cost"], self.columns["unblended_cost"])
        if unblended is None:
            raise values.CellError(f"{self.columns['unblended_cost']}: missing cost")
        numbers = {f: values.number(row[f], self.columns.get(f, f)) for f in _COST_FIELDS}
        inputs = {f: values.number(row[f], self.columns.get(f, f)) for f in _AMORTISATION_INPUTS}
        line_item_type = values.text(row["line_item_type"])
        effective = inputs["amortized_cost"]
        if effective is None:
            effective = amortised(line_item_type, unblended, inputs)
        if tags_cell is not None:
            tags = values.tags_from_cell(
                tags_cell[i], spec.tags_column or "", spec.strip_tag_prefixes
            )
        else:
            tags = {}
        for column, cells in tag_cols.items():
            value = values.text(cells[i])
            if value is not None:
                key = column.split("/", 1)[1]
                for prefix in spec.strip_tag_prefixes:
                    key = key.removeprefix(prefix)
                tags[key] = value
        ctx = self.context
        item: dict[str, Any] = {
            "id": stable_id(ctx.delivery_key, ctx.source_file, source_row),
            "attempt_id": ctx.attempt_id,
            "delivery_id": ctx.delivery_id,
            "billing_period": ctx.billing_period,
            "source_format": spec.name,
            "source_file": ctx.source_file,
            "source_row": source_row,
            "usage_start": start,
            "usage_end": end,
            "account_id": account,
            "payer_account_id": values.text(row["payer_account_id"]),
            "service": values.text(row["service"]) or "Unknown",
            "line_item_type": line_item_type,
            "unblended_cost": unblended,
            "net_cost": numbers["net_cost"],
            "amortized_cost": effective,
            "list_cost": numbers["list_cost"],
            "usage_amount": numbers["usage_amount"],
            "currency": values.text(row["currency"]) or "USD",
            "tags": tags,
        }
        for name in _TEXT_FIELDS:
            item[name] = values.text(row[name])
        return item
