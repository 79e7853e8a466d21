"""The files the simulator writes and the ingestor replays, declared once.

Two formats cross from the development tools into a service: a CloudWatch
*datapoints file* (``spendstream ingest file-datapoints``) and an EC2
*inventory file* (``spendstream ingest file-inventory``, shaped like a
``DescribeInstances`` scan). The writer and the reader both name their columns
from here, so a renamed field breaks both sides at once instead of silently
dropping rows.
"""

from __future__ import annotations

import pyarrow as pa

#: Datapoints file names the ingestor replays (Parquet, or JSON lines, gzipped for archives).
DATAPOINT_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz")
#: The columns a datapoints file carries, in the simulator's Parquet schema.
DATAPOINT_SCHEMA = pa.schema(
    [
        ("instance_id", pa.string()),
        ("account_id", pa.string()),
        ("region", pa.string()),
        ("namespace", pa.string()),
        ("metric", pa.string()),
        ("stat", pa.string()),
        ("unit", pa.string()),
        ("timestamp", pa.timestamp("s", tz="UTC")),
        ("value", pa.float64()),
    ]
)
#: Columns a datapoints file must have; the resource is ``instance_id`` or ``resource_id``.
DATAPOINT_REQUIRED = ("account_id", "region", "metric", "timestamp", "value")
DATAPOINT_RESOURCE_COLUMNS = ("instance_id", "resource_id")

#: Fields an inventory record must have (one JSON object per line).
INVENTORY_REQUIRED = ("instance_id", "account_id", "region", "instance_type", "state")
#: Every field an inventory record carries: the required ones and what right-sizing reads.
INVENTORY_FIELDS = (*INVENTORY_REQUIRED, "platform", "architecture", "launch_time", "tags")
