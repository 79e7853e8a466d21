"""Legacy CUR (CSV) columns and manifest, laid out like a real AWS delivery.

Header: the real legacy CUR column set (as in a published sample report) plus
``lineItem/ResourceId``, net unblended cost/rate, ``product/instanceType`` and
``resourceTags/user:*``. Timestamps are ``YYYY-MM-DDTHH:MM:SS.000Z`` like the sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.arrow_columns import build_table, hex_ids
from simulator.deliveries import Delivery
from simulator.line_layout import LineLayout

#: The header of a real legacy CUR (the public focus_converters sample, MIT licence).
_SAMPLE_HEADER = (
    "identity/LineItemId identity/TimeInterval bill/InvoiceId bill/InvoicingEntity "
    "bill/BillingEntity bill/BillType bill/PayerAccountId bill/BillingPeriodStartDate "
    "bill/BillingPeriodEndDate lineItem/UsageAccountId lineItem/LineItemType "
    "lineItem/UsageStartDate lineItem/UsageEndDate lineItem/ProductCode lineItem/UsageType "
    "lineItem/Operation lineItem/AvailabilityZone lineItem/UsageAmount "
    "lineItem/NormalizationFactor lineItem/NormalizedUsageAmount lineItem/CurrencyCode "
    "lineItem/UnblendedRate lineItem/UnblendedCost lineItem/BlendedRate lineItem/BlendedCost "
    "lineItem/LineItemDescription lineItem/TaxType lineItem/LegalEntity product/ProductName "
    "product/availability product/durability product/eventType product/feeCode "
    "product/feeDescription product/fromLocation product/fromLocationType "
    "product/fromRegionCode product/group product/groupDescription product/location "
    "product/locationType product/messageDeliveryFrequency product/messageDeliveryOrder "
    "product/operation product/overhead product/productFamily product/productType "
    "product/queueType product/region product/regionCode product/servicecode "
    "product/servicename product/sku product/storageClass product/storageMedia "
    "product/toLocation product/toLocationType product/toRegionCode product/transferType "
    "product/usagetype product/version product/volumeType pricing/RateCode pricing/RateId "
    "pricing/currency pricing/publicOnDemandCost pricing/publicOnDemandRate pricing/term "
    "pricing/unit reservation/AmortizedUpfrontCostForUsage "
    "reservation/AmortizedUpfrontFeeForBillingPeriod reservation/EffectiveCost "
    "reservation/EndTime reservation/ModificationStatus "
    "reservation/NormalizedUnitsPerReservation reservation/NumberOfReservations "
    "reservation/RecurringFeeForUsage reservation/StartTime reservation/SubscriptionId "
    "reservation/TotalReservedNormalizedUnits reservation/TotalReservedUnits "
    "reservation/UnitsPerReservation reservation/UnusedAmortizedUpfrontFeeForBillingPeriod "
    "reservation/UnusedNormalizedUnitQuantity reservation/UnusedQuantity "
    "reservation/UnusedRecurringFee reservation/UpfrontValue "
    "savingsPlan/TotalCommitmentToDate savingsPlan/SavingsPlanARN "
    "savingsPlan/SavingsPlanRate savingsPlan/UsedCommitment "
    "savingsPlan/SavingsPlanEffectiveCost "
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod "
    "savingsPlan/RecurringCommitmentForBillingPeriod"
)
SAMPLE_COLUMNS: tuple[str, ...] = tuple(_SAMPLE_HEADER.split())
#: Columns real reports add when resource ids, net costs and tags are enabled:
#: (column, the sample column it follows).
_EXTRA = (
    ("lineItem/ResourceId", "lineItem/AvailabilityZone"),
    ("lineItem/NetUnblendedRate", "lineItem/BlendedCost"),
    ("lineItem/NetUnblendedCost", "lineItem/NetUnblendedRate"),
    ("product/instanceType", "product/groupDescription"),
)
TAG_COLUMNS = ("resourceTags/user:app", "resourceTags/user:env", "resourceTags/user:team")


def _columns() -> tuple[str, ...]:
    columns = list(SAMPLE_COLUMNS)
    for column, after in _EXTRA:
        columns.insert(columns.index(after) + 1, column)
    return (*columns, *TAG_COLUMNS)


COLUMNS: tuple[str, ...] = _columns()
_FLOATS = {
    "lineItem/UsageAmount",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedRate",
    "lineItem/BlendedCost",
    "lineItem/NetUnblendedRate",
    "lineItem/NetUnblendedCost",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
}
SCHEMA = pa.schema([(c, pa.float64() if c in _FLOATS else pa.string()) for c in COLUMNS])
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"
INTERVAL_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LEGAL_ENTITY = "Amazon Web Services, Inc."


def format_times(values: pd.Series, fmt: str) -> pd.Categorical:
    """Format through the distinct values only (a chunk holds few distinct times)."""
    codes, uniques = pd.factorize(values)
    labels = pd.Index(pd.DatetimeIndex(uniques).strftime(fmt))
    return pd.Categorical.from_codes(codes, categories=labels)


def format_intervals(start: pd.Series, end: pd.Series) -> pd.Categorical:
    """``identity/TimeInterval`` values (``start/end``) through distinct pairs only."""
    s_codes, s_uniques = pd.factorize(start)
    e_codes, e_uniques = pd.factorize(end)
    pair_codes, pairs = pd.factorize(s_codes.astype(np.int64) * len(e_uniques) + e_codes)
    s_text = pd.DatetimeIndex(s_uniques).strftime(INTERVAL_FORMAT)
    e_text = pd.DatetimeIndex(e_uniques).strftime(INTERVAL_FORMAT)
    labels = [f"{s_text[p // len(e_uniques)]}/{e_text[p % len(e_uniques)]}" for p in pairs]
    return pd.Categorical.from_codes(pair_codes, categories=pd.Index(labels))


def table(chunk: pd.DataFrame, delivery: Delivery, layout: LineLayout) -> pa.Table:
    """One chunk of canonical line items as legacy CUR columns."""
    interval = format_intervals(chunk["usage_start"], chunk["usage_end"])
    values: dict[str, Any] = {
        "identity/LineItemId": hex_ids(chunk["line_item_id"].to_numpy()),
        "identity/TimeInterval": interval,
        "bill/InvoicingEntity": LEGAL_ENTITY,
        "bill/BillingEntity": "AWS",
        "bill/BillType": "Anniversary",
        "bill/PayerAccountId": layout.payer_account_id,
        "bill/BillingPeriodStartDate": f"{delivery.billing_period:%Y-%m-%d}T00:00:00.000Z",
        "bill/BillingPeriodEndDate": f"{delivery.period_end:%Y-%m-%d}T00:00:00.000Z",
        "lineItem/UsageAccountId": chunk["account_id"],
        "lineItem/LineItemType": chunk["line_item_type"],
        "lineItem/UsageStartDate": format_times(chunk["usage_start"], TIME_FORMAT),
        "lineItem/UsageEndDate": format_times(chunk["usage_end"], TIME_FORMAT),
        "lineItem/ProductCode": chunk["product_code"],
        "lineItem/UsageType": chunk["usage_type"],
        "lineItem/Operation": chunk["operation"],
        "lineItem/ResourceId": chunk["resource_id"],
        "lineItem/UsageAmount": chunk["usage_amount"],
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedRate": chunk["rate"],
        "lineItem/UnblendedCost": chunk["cost"],
        "lineItem/BlendedRate": chunk["rate"],
        "lineItem/BlendedCost": chunk["cost"],
        "lineItem/NetUnblendedRate": chunk["rate"],
        "lineItem/NetUnblendedCost": chunk["cost"],
        "lineItem/LineItemDescription": chunk["description"],
        "lineItem/TaxType": chunk["tax_type"],
        "lineItem/LegalEntity": LEGAL_ENTITY,
        "product/ProductName": chunk["service_name"],
        "product/instanceType": chunk["instance_type"],
        "product/location": chunk["location"],
        "product/operation": chunk["operation"],
        "product/productFamily": chunk["category"],
        "product/region": chunk["region"],
        "product/regionCode": chunk["region"],
        "product/servicecode": chunk["product_code"],
        "product/servicename": chunk["service_name"],
        "product/usagetype": chunk["usage_type"],
        "pricing/currency": "USD",
        "pricing/publicOnDemandCost": chunk["cost"],
        "pricing/publicOnDemandRate": chunk["rate"],
        "pricing/term": chunk["pricing_term"],
        "pricing/unit": chunk["unit"],
        "resourceTags/user:app": chunk["tag_app"],
        "resourceTags/user:env": chunk["account_name"],
        "resourceTags/user:team": chunk["tag_team"],
    }
    return build_table(values, SCHEMA, len(chunk))


def period_folder(delivery: Delivery) -> str:
    """``YYYYMMDD-YYYYMMDD`` of the billing period, as legacy CUR names its folders."""
    return f"{delivery.billing_period:%Y%m%d}-{delivery.period_end:%Y%m%d}"


def manifest(
    delivery: Delivery, report: str, account: str, bucket: str, report_keys: list[str]
) -> dict[str, Any]:
    """The ``<report>-Manifest.json`` document."""
    return {
        "assemblyId": delivery.manifest_id,
        "account": account,
        "columns": [
            {
                "category": c.split("/")[0],
                "name": c.split("/", 1)[1],
                "type": "OptionalBigDecimal" if c in _FLOATS else "String",
            }
            for c in COLUMNS
        ],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
        "reportId": f"{report}-{account}",
        "reportName": report,
        "billingPeriod": {
            "start": f"{delivery.billing_period:%Y%m%d}T000000.000Z",
            "end": f"{delivery.period_end:%Y%m%d}T000000.000Z",
        },
        "bucket": bucket,
        "reportKeys": report_keys,
        "additionalArtifactKeys": [],
    }
