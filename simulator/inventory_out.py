"""The simulated fleet as a ``DescribeInstances``-shaped inventory file.

One JSON line per instance with the fields the ingestor's inventory scan
publishes, so ``spendstream ingest file-inventory`` can feed the fleet to the
right-sizing service exactly as a scan of real accounts would.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

import orjson

from shared.file_formats import INVENTORY_FIELDS
from simulator.sinks import open_sink

if TYPE_CHECKING:
    from simulator.organisation import SimulatedOrg


def inventory_records(org: SimulatedOrg) -> list[dict[str, Any]]:
    """One record per instance, in the inventory file's declared field order."""
    launched = datetime.combine(org.dates[0], time(), tzinfo=UTC).isoformat()
    return [
        dict(
            zip(
                INVENTORY_FIELDS,
                (
                    i.instance_id,
                    i.account_id,
                    i.region,
                    i.instance_type,
                    "running",
                    i.platform,
                    "arm64" if i.instance_type.split(".")[0].endswith("g") else "x86_64",
                    launched,
                    dict(i.tags),
                ),
                strict=True,
            )
        )
        for i in org.instances
    ]


def write_inventory(org: SimulatedOrg, path: str, endpoint_url: str | None = None) -> str:
    """Write the inventory as JSON lines to a file path or ``s3://bucket/key``."""
    parent, _, name = str(path).rstrip("/").rpartition("/")
    sink = open_sink(parent or ".", endpoint_url)
    with sink.open(name) as handle:
        for record in inventory_records(org):
            handle.write(orjson.dumps(record) + b"\n")
    return sink.uri(name)
