"""Inventory from a file: JSON lines shaped like the ``DescribeInstances`` scan.

The simulator writes one (``inventory.jsonl``); replaying it publishes the
fleet through the same change detection as a real scan, scoped to the
(account, region) pairs the file covers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from services.ingestor.exceptions import FileRefused
from services.ingestor.inventory.changes import TRACKED_FIELDS, scope_prefix
from shared.file_formats import INVENTORY_REQUIRED


def read_inventory_file(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of an inventory file and the scan scopes they cover.

    Raises:
        FileRefused: the file is missing, not JSON lines, or a record lacks a field.
    """
    if not path.exists():
        raise FileRefused(f"{path}: no such inventory file")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FileRefused(f"{path}:{number}: not JSON ({exc})") from exc
        missing = [f for f in INVENTORY_REQUIRED if not raw.get(f)]
        if missing:
            raise FileRefused(f"{path}:{number}: missing {', '.join(missing)}")
        records.append(
            {field: raw.get(field) for field in TRACKED_FIELDS}
            | {
                "tags": raw.get("tags") or {},
                "platform": raw.get("platform") or "Linux/UNIX",
                "tenancy": raw.get("tenancy") or "default",
            }
        )
    scopes = sorted({scope_prefix(r["account_id"], r["region"]) for r in records})
    return records, scopes
