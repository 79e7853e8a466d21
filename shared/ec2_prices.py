"""EC2 hourly rates per (region, OS, tenancy, instance type): On-Demand and commitments.

In ``shared/`` so any service can price an instance-hour (``hourly_rates``)
from the same file. One gzip'd CSV row per priced combination, written by
``spendstream rightsizing prices refresh`` from the AWS Price List and Savings
Plans rate APIs. Commitment rates are the effective hourly rate of a no-upfront term
(standard Reserved Instance, Compute Savings Plan), so every figure is $/h and
directly comparable with On-Demand. A missing combination stays missing:
nothing here fills it from another region, OS or tenancy.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

from shared.ec2_platforms import os_from_platform_details, tenancy_key

COLUMNS = (
    "region",
    "instance_type",
    "os",
    "tenancy",
    "on_demand",
    "ri_1y_no_upfront",
    "ri_3y_no_upfront",
    "compute_sp_1y_no_upfront",
    "compute_sp_3y_no_upfront",
)
RateKey = tuple[str, str, str, str]  # region, os, tenancy, instance type


class PriceFileError(ValueError):
    """A price file that cannot be read as one ``save_prices`` wrote."""


@dataclass(frozen=True)
class Rates:
    """$/h for one instance type in one price list; None where the list has no such rate."""

    on_demand: float | None = None
    ri_1y_no_upfront: float | None = None
    ri_3y_no_upfront: float | None = None
    compute_sp_1y_no_upfront: float | None = None
    compute_sp_3y_no_upfront: float | None = None

    def merged(self, newer: Rates) -> Rates:
        """These rates with every rate ``newer`` knows replaced."""
        known = {f.name: v for f in fields(newer) if (v := getattr(newer, f.name)) is not None}
        return replace(self, **known)


class PriceTable:
    """Rates keyed by (region, os, tenancy, instance type)."""

    def __init__(self, rates: dict[RateKey, Rates] | None = None) -> None:
        self._rates = dict(rates or {})

    def __len__(self) -> int:
        return len(self._rates)

    def get(self, region: str, os: str, tenancy: str, instance_type: str) -> Rates | None:
        """Rates for exactly this combination, or None."""
        return self._rates.get((region, os, tenancy, instance_type))

    def items(self) -> Iterator[tuple[RateKey, Rates]]:
        """Every (key, rates), in key order."""
        for key in sorted(self._rates):
            yield key, self._rates[key]

    def update(self, key: RateKey, rates: Rates) -> None:
        """Add or refresh one combination (rates it does not carry are kept)."""
        old = self._rates.get(key)
        self._rates[key] = rates if old is None else old.merged(rates)

    def hourly_rates(
        self, region: str, platform: str, tenancy: str, instance_type: str
    ) -> Rates | None:
        """Rates of one instance as EC2 describes it (``PlatformDetails``, ``Placement.Tenancy``).

        None when the OS, tenancy or combination has no list here: the caller
        says the price is unknown rather than use another region's or OS's.
        """
        os, ours = os_from_platform_details(platform), tenancy_key(tenancy)
        if os is None or ours is None:
            return None
        return self.get(region, os, ours, instance_type)


def _rate(text: str) -> float | None:
    return float(text) if text else None


def load_prices(path: Path) -> PriceTable:
    """Read a price file written by ``save_prices`` (a missing file is an empty table)."""
    if not path.exists():
        return PriceTable()
    table = PriceTable()
    try:
        with gzip.open(path, "rt", newline="") as handle:
            for row in csv.DictReader(handle):
                key = (row["region"], row["os"], row["tenancy"], row["instance_type"])
                table.update(key, Rates(*(_rate(row[c]) for c in COLUMNS[4:])))
    except (KeyError, ValueError, OSError, EOFError) as exc:
        raise PriceFileError(f"price file {path} is malformed ({exc}); refresh it") from exc
    return table


def save_prices(table: PriceTable, path: Path) -> int:
    """Write the table (gzip'd CSV, byte-identical for the same rates); returns rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for (region, os, tenancy, name), r in table.items():
        values = [getattr(r, c) for c in COLUMNS[4:]]
        writer.writerow([region, name, os, tenancy, *("" if v is None else v for v in values)])
        rows += 1
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle,
    ):
        handle.write(buffer.getvalue().encode())
    return rows
