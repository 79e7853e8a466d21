"""Reading and writing the catalogue data file (one row per type and region).

The shipped file, ``data/ec2_catalogue.csv``, is derived from the Karpenter
AWS provider's generated instance-type and price data (Apache-2.0); see
``data/SOURCE.md`` for source, licence and date. ``derive_from_karpenter``
rebuilds it; ``spendstream rightsizing catalogue refresh`` updates prices from
the AWS Price List API.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from services.rightsizing.catalogue.model import Catalogue, InstanceType
from services.rightsizing.exceptions import CatalogueError
from shared.ec2_platforms import price_key
from shared.ec2_prices import PriceFileError, PriceTable, load_prices

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "ec2_catalogue.csv"
# Rates beyond the catalogue's own Linux On-Demand ones (other regions, OSes,
# tenancies, commitments): written by `spendstream rightsizing prices refresh`.
DEFAULT_PRICES_PATH = Path(__file__).resolve().parent / "data" / "ec2_prices.csv.gz"
COLUMNS = (
    "instance_type",
    "family",
    "size",
    "generation",
    "vcpu",
    "memory_gib",
    "arch",
    "cpu_manufacturer",
    "hypervisor",
    "gpu_count",
    "local_nvme_gib",
    "region",
    "usd_per_hour",
)
_PRICE_PREFIX = "ondemand_linux_usd_per_hour_"


def _type_from_row(row: dict[str, str]) -> InstanceType:
    return InstanceType(
        name=row["instance_type"],
        family=row["family"],
        size=row["size"],
        generation=int(row["generation"] or 0),
        vcpu=int(float(row["vcpu"])),
        memory_gib=float(row["memory_gib"]),
        arch=row["arch"],
        cpu_manufacturer=row["cpu_manufacturer"],
        hypervisor=row["hypervisor"],
        gpu_count=int(row["gpu_count"] or 0),
        local_nvme_gib=float(row["local_nvme_gib"] or 0),
        prices={},
    )


def load_catalogue(
    path: Path = DEFAULT_PATH, prices: Path | None = DEFAULT_PRICES_PATH
) -> Catalogue:
    """Load a catalogue file written by ``save_catalogue``, plus a price file's rates.

    The price file's On-Demand rates are added under each list's ``price_key``
    (and win over the catalogue's for the same list); its rows for types the
    catalogue does not describe are ignored, since we could not size them.
    Commitment rates stay in the file (``shared.ec2_prices``) until savings
    use them.
    """
    if not path.exists():
        raise CatalogueError(f"catalogue file {path} does not exist; set the catalogue path")
    types: dict[str, InstanceType] = {}
    try:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                name = row["instance_type"]
                if name not in types:
                    types[name] = _type_from_row(row)
                if row["region"] and row["usd_per_hour"]:
                    types[name].prices[row["region"]] = float(row["usd_per_hour"])
    except (KeyError, ValueError) as exc:
        raise CatalogueError(f"catalogue file {path} is malformed ({exc}); regenerate it") from exc
    try:
        table = load_prices(prices) if prices is not None else PriceTable()
    except PriceFileError as exc:
        raise CatalogueError(str(exc)) from exc
    add_rates(types, table)
    return Catalogue(types.values(), source=str(path))


def add_rates(types: dict[str, InstanceType], table: PriceTable) -> None:
    """Put the table's On-Demand rates into the types' price maps."""
    for (region, os, tenancy, name), rates in table.items():
        if name in types and rates.on_demand is not None:
            types[name].prices[price_key(region, os, tenancy)] = rates.on_demand


def save_catalogue(types: Iterable[InstanceType], path: Path) -> int:
    """Write one row per (type, region); returns the number of rows written."""
    rows = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for t in sorted(types, key=lambda x: x.name):
            base = [
                t.name,
                t.family,
                t.size,
                t.generation,
                t.vcpu,
                t.memory_gib,
                t.arch,
                t.cpu_manufacturer,
                t.hypervisor,
                t.gpu_count or "",
                t.local_nvme_gib or "",
            ]
            priced: list[tuple[str, float | None]] = sorted(t.prices.items())
            for region, price in priced or [("", None)]:
                writer.writerow([*base, region, "" if price is None else price])
                rows += 1
    return rows


def derive_from_karpenter(source: Path, path: Path) -> int:
    """Rebuild the data file from ``shared/data/ec2/ec2_instance_catalogue_us-east-1.csv``."""
    types = []
    with source.open(newline="") as handle:
        for row in csv.DictReader(handle):
            prices = {
                column.removeprefix(_PRICE_PREFIX): float(value)
                for column, value in row.items()
                if column.startswith(_PRICE_PREFIX) and value
            }
            types.append(
                InstanceType(
                    name=row["instance_type"],
                    family=row["family"],
                    size=row["size"],
                    generation=int(row["generation"] or 0),
                    vcpu=int(row["vcpu"]),
                    memory_gib=float(row["memory_gib"]),
                    arch=row["arch"],
                    cpu_manufacturer=row["cpu_manufacturer"],
                    hypervisor=row["hypervisor"],
                    gpu_count=int(row["gpu_count"] or 0),
                    local_nvme_gib=float(row["local_nvme_gib"] or 0),
                    prices=prices,
                )
            )
    return save_catalogue(types, path)
