"""FOCUS 1.0 export columns (CSV, as the AWS FOCUS export and the FinOps sample write it).

Columns are the FOCUS 1.0 set of a published AWS FOCUS sample plus AWS's provider
columns ``x_ServiceCode``, ``x_UsageType`` and ``x_Operation`` (what makes a usage-type
root cause visible). No commitments are simulated, so Billed = Effective = List cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shared.events import stable_id
from simulator.arrow_columns import build_table
from simulator.deliveries import Delivery
from simulator.legacy_cur import LEGAL_ENTITY, format_times
from simulator.line_layout import LineLayout

COLUMNS = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_Operation",
    "x_ServiceCode",
    "x_UsageType",
]
_FLOATS = {
    "BilledCost",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
}
SCHEMA = pa.schema([(c, pa.float64() if c in _FLOATS else pa.string()) for c in COLUMNS])
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BILLING_ACCOUNT_NAME = "spendstream-org"


def _sku(usage_type: pd.Series) -> pd.Categorical:
    """A stable SKU-like id per usage type (distinct usage types, distinct ids)."""
    values = usage_type.array
    skus = pd.Index([stable_id("sku", u)[:16].upper() for u in values.categories])
    return pd.Categorical.from_codes(values.codes, categories=skus)


def table(chunk: pd.DataFrame, delivery: Delivery, layout: LineLayout) -> pa.Table:
    """One chunk of canonical line items as FOCUS 1.0 columns."""
    usage = (chunk["line_item_type"] == "Usage").to_numpy()
    values: dict[str, Any] = {
        "BilledCost": chunk["cost"],
        "BillingAccountId": layout.payer_account_id,
        "BillingAccountName": BILLING_ACCOUNT_NAME,
        "BillingCurrency": "USD",
        "BillingPeriodEnd": f"{delivery.period_end:%Y-%m-%d} 00:00:00",
        "BillingPeriodStart": f"{delivery.billing_period:%Y-%m-%d} 00:00:00",
        "ChargeCategory": chunk["charge_category"],
        "ChargeDescription": chunk["description"],
        "ChargeFrequency": chunk["charge_frequency"],
        "ChargePeriodEnd": format_times(chunk["usage_end"], TIME_FORMAT),
        "ChargePeriodStart": format_times(chunk["usage_start"], TIME_FORMAT),
        "ConsumedQuantity": np.where(usage, chunk["usage_amount"].to_numpy(), np.nan),
        "ConsumedUnit": chunk["unit"],
        "ContractedCost": chunk["cost"],
        "ContractedUnitPrice": chunk["rate"],
        "EffectiveCost": chunk["cost"],
        "InvoiceIssuerName": LEGAL_ENTITY,
        "ListCost": chunk["cost"],
        "ListUnitPrice": chunk["rate"],
        "PricingCategory": chunk["pricing_category"],
        "PricingQuantity": chunk["usage_amount"],
        "PricingUnit": chunk["unit"],
        "ProviderName": "AWS",
        "PublisherName": LEGAL_ENTITY,
        "RegionId": chunk["region"],
        "RegionName": chunk["location"],
        "ResourceId": chunk["resource_id"],
        "ServiceCategory": chunk["category"],
        "ServiceName": chunk["service_name"],
        "SkuId": _sku(chunk["usage_type"]),
        "SubAccountId": chunk["account_id"],
        "SubAccountName": chunk["account_name"],
        "Tags": chunk["tags_json"],
        "x_Operation": chunk["operation"],
        "x_ServiceCode": chunk["product_code"],
        "x_UsageType": chunk["usage_type"],
    }
    table = build_table(values, SCHEMA, len(chunk))
    # FOCUS wants nulls, not empty strings, where a value does not apply.
    return pa.Table.from_arrays(
        [_blank_to_null(c) if c.type == pa.string() else c for c in table.columns],
        schema=SCHEMA,
    )


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
