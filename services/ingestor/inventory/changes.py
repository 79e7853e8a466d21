"""Which instances changed since the last scan: publish changes only, tombstone the vanished.

State per instance is a content hash plus the few fields needed to publish a
``deleted=True`` record once the instance disappears from ``DescribeInstances``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shared.events import stable_id

# Fields of an instance record that count as a change (observed_at and id do not).
TRACKED_FIELDS = (
    "instance_id",
    "account_id",
    "region",
    "instance_type",
    "state",
    "platform",
    "tenancy",
    "architecture",
    "launch_time",
    "tags",
)


def scope_prefix(account_id: str, region: str) -> str:
    """State-key prefix of one (account, region) scan."""
    return f"{account_id}/{region}/"


def state_key(record: dict[str, Any]) -> str:
    """The inventory state key of an instance record."""
    return f"{scope_prefix(record['account_id'], record['region'])}{record['instance_id']}"


def content_hash(record: dict[str, Any]) -> str:
    """Hash of the tracked fields, stable across runs (sorted keys).

    >>> a = {"instance_id": "i-1", "account_id": "1", "region": "r", "instance_type": "t3.micro",
    ...      "state": "running", "platform": "Linux/UNIX", "architecture": None,
    ...      "launch_time": None, "tags": {"a": "1"}}
    >>> content_hash(a) == content_hash(dict(a, observed_at="later"))
    True
    """
    tracked = {k: record.get(k) for k in TRACKED_FIELDS}
    return stable_id(orjson.dumps(tracked, option=orjson.OPT_SORT_KEYS, default=str).decode())


@dataclass(frozen=True)
class Changes:
    """Records to publish and the new state of the scanned scopes."""

    changed: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    state: dict[str, dict[str, Any]]


def diff(previous: dict[str, Any], current: list[dict[str, Any]], scopes: list[str]) -> Changes:
    """Compare a scan of ``scopes`` with the previous state of those scopes."""
    state: dict[str, dict[str, Any]] = {}
    changed = []
    for record in current:
        key = state_key(record)
        digest = content_hash(record)
        state[key] = {
            "hash": digest,
            "instance_type": record["instance_type"],
            "state": record["state"],
        }
        old = previous.get(key)
        if not isinstance(old, dict) or old.get("hash") != digest:
            changed.append(record)
    deleted = []
    for key, old in previous.items():
        if key in state or not any(key.startswith(p) for p in scopes):
            continue
        account_id, region, instance_id = key.split("/", 2)
        deleted.append(
            {
                "instance_id": instance_id,
                "account_id": account_id,
                "region": region,
                "instance_type": old.get("instance_type", "unknown")
                if isinstance(old, dict)
                else "unknown",
                "state": "terminated",
                "deleted": True,
            }
        )
    return Changes(changed, deleted, state)
