"""Which price list an instance's OS, licence and tenancy are billed at.

The inventory says an instance's OS as EC2's ``PlatformDetails`` (also the
Savings Plans rates' ``productDescription``); the Price List says it as
``operatingSystem`` + ``preInstalledSw`` + ``licenseModel``. Both map onto one
short key here, so a Windows with SQL Server Standard instance is priced at
exactly that list and never at Linux's. A value we do not know maps to None:
the caller then quotes no price rather than borrow one.

>>> os_from_platform_details("Windows with SQL Server Standard")
'windows_sql_std'
>>> os_from_price_attributes({"operatingSystem": "RHEL", "preInstalledSw": "NA",
...                           "licenseModel": "No License required"})
'rhel'
>>> os_from_platform_details("Windows BYOL") is None
True
"""

from __future__ import annotations

from collections.abc import Mapping

# Our key -> (EC2 PlatformDetails / Savings Plans productDescription,
#             Price List operatingSystem, Price List preInstalledSw).
OPERATING_SYSTEMS: dict[str, tuple[str, str, str]] = {
    "linux": ("Linux/UNIX", "Linux", "NA"),
    "rhel": ("Red Hat Enterprise Linux", "RHEL", "NA"),
    "suse": ("SUSE Linux", "SUSE", "NA"),
    "windows": ("Windows", "Windows", "NA"),
    "windows_sql_web": ("Windows with SQL Server Web", "Windows", "SQL Web"),
    "windows_sql_std": ("Windows with SQL Server Standard", "Windows", "SQL Std"),
    "windows_sql_ent": ("Windows with SQL Server Enterprise", "Windows", "SQL Ent"),
    "linux_sql_web": ("Linux with SQL Server Web", "Linux", "SQL Web"),
    "linux_sql_std": ("Linux with SQL Server Standard", "Linux", "SQL Std"),
    "linux_sql_ent": ("Linux with SQL Server Enterprise", "Linux", "SQL Ent"),
}
# CUR ``lineItem/Operation`` of an instance hour per OS key (AWS's platform codes).
OPERATIONS: dict[str, str] = {
    "linux": "RunInstances",
    "windows": "RunInstances:0002",
    "rhel": "RunInstances:0010",
    "suse": "RunInstances:000g",
    "windows_sql_web": "RunInstances:0202",
    "windows_sql_std": "RunInstances:0006",
    "windows_sql_ent": "RunInstances:0102",
    "linux_sql_web": "RunInstances:0200",
    "linux_sql_std": "RunInstances:0004",
    "linux_sql_ent": "RunInstances:0100",
}
# Licence-included rates only: a BYOL licence is the customer's own cost.
LICENCE_INCLUDED = "No License required"
# Price List tenancy -> ours; EC2's Placement.Tenancy "default" is shared.
TENANCIES = {"Shared": "shared", "Dedicated": "dedicated"}
# Every spelling we accept: the Price List's, EC2's ("default"), and ours.
_TENANCY = {**TENANCIES, "default": "shared", "shared": "shared", "dedicated": "dedicated"}

_BY_DETAILS = {details: key for key, (details, _, _) in OPERATING_SYSTEMS.items()}
_BY_ATTRIBUTES = {(os_, sw): key for key, (_, os_, sw) in OPERATING_SYSTEMS.items()}


def os_from_platform_details(platform: str) -> str | None:
    """Our OS key for an EC2 ``PlatformDetails`` value, or None when we have no list for it."""
    return _BY_DETAILS.get(platform)


def os_from_price_attributes(attrs: Mapping[str, str]) -> str | None:
    """Our OS key for a Price List product, or None (BYOL, Ubuntu Pro, RHEL with HA, ...)."""
    if attrs.get("licenseModel", LICENCE_INCLUDED) != LICENCE_INCLUDED:
        return None
    return _BY_ATTRIBUTES.get((attrs.get("operatingSystem", ""), attrs.get("preInstalledSw", "NA")))


def tenancy_key(value: str) -> str | None:
    """``shared``/``dedicated`` from a Price List or EC2 tenancy value (None: host or unknown)."""
    return _TENANCY.get(value)


def price_key(region: str, os: str = "linux", tenancy: str = "shared") -> str:
    """The key an instance type's On-Demand price is stored under.

    Linux on shared tenancy keeps the bare region (the catalogue's historic
    key), every other list is ``region/os/tenancy``.

    >>> price_key("eu-west-1"), price_key("eu-west-1", "windows")
    ('eu-west-1', 'eu-west-1/windows/shared')
    """
    if os == "linux" and tenancy == "shared":
        return region
    return f"{region}/{os}/{tenancy}"
