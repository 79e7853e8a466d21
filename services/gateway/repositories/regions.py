"""The AWS region of a usage type, read from the region code AWS writes in front of it.

Cost series carry account, service and usage type, not region; but AWS names
every regional usage type after its region (``USW2-BoxUsage:m5.large`` is
us-west-2, ``EU-BoxUsage:m5.large`` eu-west-1, KMS writes the region itself:
``eu-west-1-KMS-Requests``), and us-east-1's carry no code at all
(``BoxUsage:m5.large``). That lets the breakdown stack costs by region from the
usage-type series the gateway already stores, without a new series level.

Limits, by AWS's own naming: a code not in :data:`REGION_CODES` reads as
us-east-1; the services in :data:`GLOBAL_SERVICES` (CloudFront's ``US-``/``EU-``
are edge areas, not regions) and lines without a usage type (tax) read as
``global``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# The usage-type prefix of each region (AWS billing codes).
REGION_CODES: dict[str, str] = {
    "USE1": "us-east-1",
    "USE2": "us-east-2",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "CAN1": "ca-central-1",
    "SAE1": "sa-east-1",
    "EU": "eu-west-1",
    "EUW2": "eu-west-2",
    "EUW3": "eu-west-3",
    "EUC1": "eu-central-1",
    "EUC2": "eu-central-2",
    "EUN1": "eu-north-1",
    "EUS1": "eu-south-1",
    "EUS2": "eu-south-2",
    "APN1": "ap-northeast-1",
    "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3",
    "APS1": "ap-southeast-1",
    "APS2": "ap-southeast-2",
    "APS3": "ap-south-1",
    "APE1": "ap-east-1",
    "MES1": "me-south-1",
    "MEC1": "me-central-1",
    "AFS1": "af-south-1",
    "ILC1": "il-central-1",
    "UGW1": "us-gov-west-1",
    "UGE1": "us-gov-east-1",
}
# Services billed without a region (or whose prefixes name edge areas, not regions).
GLOBAL_SERVICES = (
    "AmazonCloudFront",
    "AmazonRoute53",
    "AWSSupportBasic",
    "AWSSupportDeveloper",
    "AWSSupportBusiness",
    "AWSSupportEnterprise",
)
GLOBAL = "global"
DEFAULT_REGION = "us-east-1"
# A region written out in full, as KMS and a few others do ("eu-west-1-KMS-Requests").
_NAMED = r"^([a-z]{2}(?:-gov)?-[a-z]+-[0-9]+)-"


def usage_type_region(service: str | None, usage_type: str | None) -> str:
    """The region a usage type's cost was spent in, by AWS's naming.

    >>> usage_type_region("AmazonEC2", "USW2-BoxUsage:m5.large")
    'us-west-2'
    >>> usage_type_region("AmazonEC2", "BoxUsage:m5.large")
    'us-east-1'
    >>> usage_type_region("awskms", "eu-west-1-KMS-Requests")
    'eu-west-1'
    >>> usage_type_region("AmazonCloudFront", "EU-DataTransfer-Out-Bytes")
    'global'
    """
    if not usage_type or usage_type == "-" or service in GLOBAL_SERVICES:
        return GLOBAL
    named = re.match(_NAMED, usage_type)
    if named:
        return named.group(1)
    return REGION_CODES.get(usage_type.split("-", 1)[0], DEFAULT_REGION)


def region_sql(service: str, usage_type: str, param: Callable[[object], str]) -> str:
    """The same rule as a SQL expression over two columns.

    ``param`` binds a value and returns its placeholder (``Where.param``); every
    constant travels as a parameter, the column names are the caller's own.
    """
    codes = param(list(REGION_CODES))
    names = param(list(REGION_CODES.values()))
    global_services = param(list(GLOBAL_SERVICES))
    named = param(_NAMED)
    return (
        f"CASE WHEN coalesce({usage_type}, '-') IN ('', '-') "
        f"OR {service} = ANY({global_services}::text[]) THEN '{GLOBAL}' "
        f"WHEN {usage_type} ~ {named} THEN substring({usage_type} from {named}) "
        f"ELSE coalesce((SELECT n FROM unnest({codes}::text[], {names}::text[]) AS r(c, n) "
        f"WHERE c = split_part({usage_type}, '-', 1)), '{DEFAULT_REGION}') END"
    )
