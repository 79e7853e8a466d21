"""Column maps of the three billing formats, and detection of a file's format from its header.

Each normalised field names the columns that may hold it, most specific first;
the first one present in the file wins. A file whose header matches no format,
or lacks a required column, is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.ingestor.exceptions import FileRefused
from shared.events.cur import SourceFormat

# Fields without which a row cannot be attributed or totalled.
REQUIRED_FIELDS = ("account_id", "usage_start", "unblended_cost")


@dataclass(frozen=True)
class FormatSpec:
    """Where one billing format keeps each normalised field."""

    name: SourceFormat
    marker: str
    columns: dict[str, tuple[str, ...]]
    tag_prefixes: tuple[str, ...] = ()
    tags_column: str | None = None
    strip_tag_prefixes: tuple[str, ...] = field(default=())

    def resolve(self, header: Sequence[str]) -> dict[str, str]:
        """Map each normalised field to the column this file actually has."""
        present = set(header)
        resolved: dict[str, str] = {}
        for name, candidates in self.columns.items():
            for column in candidates:
                if column in present:
                    resolved[name] = column
                    break
        missing = [f for f in REQUIRED_FIELDS if f not in resolved]
        if missing:
            wanted = ", ".join(self.columns[f][0] for f in missing)
            raise FileRefused(
                f"{self.name} file lacks required column(s) {wanted}; "
                "check the export's column selection"
            )
        return resolved


LEGACY = FormatSpec(
    name="legacy_cur",
    marker="lineItem/UnblendedCost",
    columns={
        "account_id": ("lineItem/UsageAccountId",),
        "payer_account_id": ("bill/PayerAccountId",),
        "usage_start": ("lineItem/UsageStartDate",),
        "usage_end": ("lineItem/UsageEndDate",),
        "service": ("lineItem/ProductCode", "product/servicecode", "product/ProductName"),
        "usage_type": ("lineItem/UsageType",),
        "operation": ("lineItem/Operation",),
        "region": ("product/regionCode", "product/region"),
        "resource_id": ("lineItem/ResourceId",),
        "instance_type": ("product/instanceType",),
        "line_item_type": ("lineItem/LineItemType",),
        "unblended_cost": ("lineItem/UnblendedCost",),
        "net_cost": ("lineItem/NetUnblendedCost",),
        "list_cost": ("pricing/publicOnDemandCost",),
        "usage_amount": ("lineItem/UsageAmount",),
        "currency": ("lineItem/CurrencyCode",),
        "sp_effective_cost": ("savingsPlan/SavingsPlanEffectiveCost",),
        "ri_effective_cost": ("reservation/EffectiveCost",),
        "ri_unused_upfront": ("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",),
        "ri_unused_recurring": ("reservation/UnusedRecurringFee",),
        "reservation_arn": ("reservation/ReservationARN",),
        "savings_plan_arn": ("savingsPlan/SavingsPlanARN",),
        "ri_end": ("reservation/EndTime",),
        "sp_end": ("savingsPlan/EndTime",),
    },
    tag_prefixes=("resourceTags/",),
    strip_tag_prefixes=("user:",),
)

CUR2 = FormatSpec(
    name="cur2",
    marker="line_item_unblended_cost",
    columns={
        "account_id": ("line_item_usage_account_id",),
        "payer_account_id": ("bill_payer_account_id",),
        "usage_start": ("line_item_usage_start_date",),
        "usage_end": ("line_item_usage_end_date",),
        "service": ("line_item_product_code", "product_servicecode"),
        "usage_type": ("line_item_usage_type",),
        "operation": ("line_item_operation",),
        "region": ("product_region_code", "product_region"),
        "resource_id": ("line_item_resource_id",),
        "instance_type": ("product_instance_type",),
        "line_item_type": ("line_item_line_item_type",),
        "unblended_cost": ("line_item_unblended_cost",),
        "net_cost": ("line_item_net_unblended_cost",),
        "list_cost": ("pricing_public_on_demand_cost",),
        "usage_amount": ("line_item_usage_amount",),
        "currency": ("line_item_currency_code",),
        "sp_effective_cost": ("savings_plan_savings_plan_effective_cost",),
        "ri_effective_cost": ("reservation_effective_cost",),
        "ri_unused_upfront": ("reservation_unused_amortized_upfront_fee_for_billing_period",),
        "ri_unused_recurring": ("reservation_unused_recurring_fee",),
        "reservation_arn": ("reservation_reservation_a_r_n",),
        "savings_plan_arn": ("savings_plan_savings_plan_a_r_n",),
        "ri_end": ("reservation_end_time",),
        "sp_end": ("savings_plan_end_time",),
    },
    tags_column="resource_tags",
    strip_tag_prefixes=("user_",),
)

FOCUS = FormatSpec(
    name="focus",
    marker="BilledCost",
    columns={
        "account_id": ("SubAccountId",),
        "payer_account_id": ("BillingAccountId",),
        "usage_start": ("ChargePeriodStart",),
        "usage_end": ("ChargePeriodEnd",),
        "service": ("ServiceName",),
        "usage_type": ("x_UsageType", "SkuId"),
        "operation": ("x_Operation",),
        "region": ("RegionId", "Region"),
        "resource_id": ("ResourceId",),
        "instance_type": ("x_InstanceType",),
        "line_item_type": ("ChargeCategory",),
        "unblended_cost": ("BilledCost",),
        "amortized_cost": ("EffectiveCost",),
        "list_cost": ("ListCost",),
        "usage_amount": ("ConsumedQuantity", "UsageQuantity"),
        "currency": ("BillingCurrency",),
        # One id column for both kinds; the type column says which (see normalise).
        "commitment_id": ("CommitmentDiscountId",),
        "commitment_type": ("CommitmentDiscountType",),
    },
    tags_column="Tags",
)

FORMATS: tuple[FormatSpec, ...] = (LEGACY, CUR2, FOCUS)


def detect(header: Sequence[str]) -> FormatSpec:
    """The format whose marker column the header holds, or FileRefused.

    >>> detect(["identity/LineItemId", "lineItem/UnblendedCost"]).name
    'legacy_cur'
    >>> detect(["BilledCost", "SubAccountId"]).name
    'focus'
    """
    present = set(header)
    for spec in FORMATS:
        if spec.marker in present:
            return spec
    shown = ", ".join(list(header)[:6])
    raise FileRefused(
        f"unknown billing format (columns start {shown!r}); expected legacy CUR "
        "(lineItem/UnblendedCost), CUR 2.0 (line_item_unblended_cost) or FOCUS (BilledCost)"
    )
