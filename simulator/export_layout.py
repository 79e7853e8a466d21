"""Line items as one CUR 2.0 Data Exports delivery on disk: a Parquet file and its manifest.

The layout is AWS's (``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/`` and
``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``),
so ``spendstream ingest cur --source <root>`` reads it as it reads a real bucket.
Used by the opt-in outputs (``simulator.committed_unit``, ``simulator.followers_out``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from shared.events import CostLineItem
from simulator.commitment_cur import cur2_table

PREFIX = "exports"
BUCKET = "billing"


def write_export(
    root: Path,
    items: Sequence[CostLineItem],
    *,
    export: str,
    period: date,
    execution_id: str,
    payer_account_id: str,
) -> Path:
    """Write ``items`` (one billing period) as a delivery of ``export`` under ``root``."""
    part = f"BILLING_PERIOD={period:%Y-%m}"
    name = f"{export}-00001.snappy.parquet"
    data = root / PREFIX / export / "data" / part / name
    data.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(cur2_table(items), data)
    manifest = root / PREFIX / export / "metadata" / part / f"{export}-Manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "executionId": execution_id,
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{payer_account_id}:export/{export}",
        "exportName": export,
        "billingPeriod": {"start": f"{period:%Y-%m-%d}T00:00:00.000Z"},
        "dataFiles": [f"s3://{BUCKET}/{PREFIX}/{export}/data/{part}/{name}"],
    }
    manifest.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return manifest
