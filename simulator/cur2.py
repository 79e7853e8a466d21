"""CUR 2.0 (Data Exports) Parquet columns and manifest.

Column names follow the AWS CUR 2.0 data dictionary (``line_item_unblended_cost``,
``line_item_usage_start_date`` as timestamps, ``product_servicecode``, ...);
``resource_tags`` and ``product`` are ``map<string, string>`` columns, with user tags
keyed ``user_<key>`` as CUR 2.0 writes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.arrow_columns import build_table, hex_ids
from simulator.deliveries import Delivery
from simulator.legacy_cur import LEGAL_ENTITY, format_intervals
from simulator.line_layout import LineLayout

_TS = pa.timestamp("ms", tz="UTC")
_MAP = pa.map_(pa.string(), pa.string())
_STRINGS = [
    "bill_bill_type",
    "bill_billing_entity",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "identity_line_item_id",
    "identity_time_interval",
    "line_item_availability_zone",
    "line_item_currency_code",
    "line_item_legal_entity",
    "line_item_line_item_description",
    "line_item_line_item_type",
    "line_item_operation",
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_tax_type",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_usage_type",
    "pricing_currency",
    "pricing_term",
    "pricing_unit",
    "product_fee_code",
    "product_from_location",
    "product_instance_family",
    "product_instance_type",
    "product_location",
    "product_operation",
    "product_pricing_unit",
    "product_product_family",
    "product_region_code",
    "product_servicecode",
    "product_sku",
    "product_to_location",
    "product_usagetype",
]
_FLOATS = [
    "line_item_blended_cost",
    "line_item_blended_rate",
    "line_item_net_unblended_cost",
    "line_item_net_unblended_rate",
    "line_item_normalization_factor",
    "line_item_normalized_usage_amount",
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "reservation_effective_cost",
    "savings_plan_savings_plan_effective_cost",
]
_TIMES = [
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
]
SCALAR_SCHEMA = pa.schema(
    [(c, pa.string()) for c in _STRINGS]
    + [(c, pa.float64()) for c in _FLOATS]
    + [(c, _TS) for c in _TIMES]
)
SCHEMA = pa.schema(
    [*SCALAR_SCHEMA, ("resource_tags", _MAP), ("product", _MAP), ("cost_category", _MAP)]
)
#: What is handed to the Parquet writer: strings stay dictionary-encoded in memory (no
#: decode and re-encode); the file stores plain UTF-8 columns, as CUR 2.0 does, because
#: the Arrow schema is not embedded (``store_schema=False``).
_DICT = pa.dictionary(pa.int32(), pa.string())
WRITE_SCHEMA = pa.schema([pa.field(f.name, _DICT) if f.type == pa.string() else f for f in SCHEMA])


def table(chunk: pd.DataFrame, delivery: Delivery, layout: LineLayout) -> pa.Table:
    """One chunk of canonical line items as CUR 2.0 columns."""
    n = len(chunk)
    lines = pa.array(chunk["line"].to_numpy())
    series = pa.array(chunk["series"].to_numpy())
    values: dict[str, Any] = {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_invoicing_entity": LEGAL_ENTITY,
        "bill_payer_account_id": layout.payer_account_id,
        "bill_payer_account_name": "management",
        "identity_line_item_id": hex_ids(chunk["line_item_id"].to_numpy()),
        "identity_time_interval": format_intervals(chunk["usage_start"], chunk["usage_end"]),
        "line_item_currency_code": "USD",
        "line_item_legal_entity": LEGAL_ENTITY,
        "line_item_line_item_description": chunk["description"],
        "line_item_line_item_type": chunk["line_item_type"],
        "line_item_operation": chunk["operation"],
        "line_item_product_code": chunk["product_code"],
        "line_item_resource_id": chunk["resource_id"],
        "line_item_tax_type": chunk["tax_type"],
        "line_item_usage_account_id": chunk["account_id"],
        "line_item_usage_account_name": chunk["account_name"],
        "line_item_usage_type": chunk["usage_type"],
        "pricing_currency": "USD",
        "pricing_term": chunk["pricing_term"],
        "pricing_unit": chunk["unit"],
        "product_instance_family": chunk["instance_family"],
        "product_instance_type": chunk["instance_type"],
        "product_location": chunk["location"],
        "product_operation": chunk["operation"],
        "product_pricing_unit": chunk["unit"],
        "product_product_family": chunk["category"],
        "product_region_code": chunk["region"],
        "product_servicecode": chunk["product_code"],
        "product_usagetype": chunk["usage_type"],
        "line_item_blended_cost": chunk["cost"],
        "line_item_blended_rate": chunk["rate"],
        "line_item_net_unblended_cost": chunk["cost"],
        "line_item_net_unblended_rate": chunk["rate"],
        "line_item_unblended_cost": chunk["cost"],
        "line_item_unblended_rate": chunk["rate"],
        "line_item_usage_amount": chunk["usage_amount"],
        "pricing_public_on_demand_cost": chunk["cost"],
        "pricing_public_on_demand_rate": chunk["rate"],
        "bill_billing_period_start_date": np.full(n, np.datetime64(delivery.billing_period, "ms")),
        "bill_billing_period_end_date": np.full(n, np.datetime64(delivery.period_end, "ms")),
        "line_item_usage_start_date": chunk["usage_start"].to_numpy().astype("datetime64[ms]"),
        "line_item_usage_end_date": chunk["usage_end"].to_numpy().astype("datetime64[ms]"),
    }
    scalar = pa.schema([WRITE_SCHEMA.field(f.name) for f in SCALAR_SCHEMA])
    table = build_table(values, scalar, n)
    empty = pa.MapArray.from_arrays(
        pa.array(np.zeros(n + 1, dtype=np.int32)),
        pa.array([], pa.string()),
        pa.array([], pa.string()),
    )
    return pa.Table.from_arrays(
        [*table.columns, layout.tags_map.take(lines), layout.product_map.take(series), empty],
        schema=WRITE_SCHEMA,
    )


def manifest(
    delivery: Delivery, export: str, account: str, data_files: list[str]
) -> dict[str, Any]:
    """The Data Exports ``<export>-Manifest.json`` document."""
    return {
        "executionId": delivery.manifest_id,
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{account}:export/{export}",
        "exportName": export,
        "billingPeriod": {
            "start": f"{delivery.billing_period:%Y-%m-%d}T00:00:00.000Z",
            "end": f"{delivery.period_end:%Y-%m-%d}T00:00:00.000Z",
        },
        "deliveryTime": delivery.issued_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "dataFiles": data_files,
        "columns": [{"name": f.name, "type": str(f.type)} for f in SCHEMA],
    }
