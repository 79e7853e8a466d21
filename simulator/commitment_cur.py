"""The simulated commitment lines (``simulator.commitments``) as a CUR 2.0 Parquet table.

Columns are the CUR 2.0 data dictionary's, RI and Savings Plan ones included
(``reservation_reservation_a_r_n``, ``reservation_effective_cost``,
``reservation_unused_recurring_fee``, ``reservation_end_time``,
``savings_plan_savings_plan_a_r_n``, ``savings_plan_savings_plan_effective_cost``,
``savings_plan_end_time``), so the ingestor reads them as it reads AWS's files.
An RI's unused fee goes in ``reservation_unused_recurring_fee`` (no-upfront RIs
have no upfront part), from which the ingestor amortises its ``RIFee``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from shared.events import CostLineItem

_TS = pa.timestamp("ms", tz="UTC")
_TEXT = {
    "line_item_usage_account_id": "account_id",
    "bill_payer_account_id": "payer_account_id",
    "line_item_product_code": "service",
    "line_item_usage_type": "usage_type",
    "line_item_operation": "operation",
    "product_region_code": "region",
    "line_item_resource_id": "resource_id",
    "product_instance_type": "instance_type",
    "line_item_line_item_type": "line_item_type",
    "line_item_currency_code": "currency",
    "reservation_reservation_a_r_n": "reservation_arn",
    "savings_plan_savings_plan_a_r_n": "savings_plan_arn",
}
_NUMBERS = {
    "line_item_unblended_cost": "unblended_cost",
    "line_item_net_unblended_cost": "unblended_cost",
    "pricing_public_on_demand_cost": "list_cost",
    "line_item_usage_amount": "usage_amount",
    "reservation_effective_cost": "reservation_effective_cost",
    "savings_plan_savings_plan_effective_cost": "savings_plan_effective_cost",
}


def _end(item: CostLineItem, kind: str) -> object:
    arn = item.reservation_arn if kind == "reservation" else item.savings_plan_arn
    return item.commitment_end if arn else None


def cur2_table(items: Sequence[CostLineItem]) -> pa.Table:
    """The line items as one CUR 2.0 table (row order kept)."""
    columns: dict[str, pa.Array] = {
        name: pa.array([getattr(i, field) for i in items], pa.string())
        for name, field in _TEXT.items()
    }
    columns |= {
        name: pa.array([getattr(i, field) for i in items], pa.float64())
        for name, field in _NUMBERS.items()
    }
    columns["reservation_unused_recurring_fee"] = pa.array(
        [i.amortized_cost if i.line_item_type == "RIFee" else None for i in items], pa.float64()
    )
    columns["reservation_unused_amortized_upfront_fee_for_billing_period"] = pa.array(
        [0.0 if i.line_item_type == "RIFee" else None for i in items], pa.float64()
    )
    columns["line_item_usage_start_date"] = pa.array([i.usage_start for i in items], _TS)
    columns["line_item_usage_end_date"] = pa.array([i.usage_end for i in items], _TS)
    columns["reservation_end_time"] = pa.array([_end(i, "reservation") for i in items], _TS)
    columns["savings_plan_end_time"] = pa.array([_end(i, "savings plan") for i in items], _TS)
    return pa.table(columns)
