"""Scan ``DescribeInstances`` in every configured account and region; publish changes only.

Records go to the compacted inventory topic keyed by instance id; an instance
that vanished since the last scan gets a ``deleted=True`` record. The state is
updated only after every record is acked, so a crash re-publishes (idempotent
ids) rather than forgets.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.ingestor.accounts import AccountConfig
from services.ingestor.aws import AwsClients
from services.ingestor.inventory.changes import content_hash, diff, scope_prefix
from services.ingestor.state import StateStore
from shared.events import Ec2Instance, stable_id, utcnow
from shared.kafka import EventProducer
from shared.logging import get_logger
from shared.topics import INVENTORY_EC2

log = get_logger(__name__)


def describe(ec2: Any, account_id: str, region: str) -> list[dict[str, Any]]:
    """Every non-terminated instance of one account and region, as event fields."""
    out = []
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                state = inst.get("State", {}).get("Name", "unknown")
                if state == "terminated":
                    continue
                launch = inst.get("LaunchTime")
                out.append(
                    {
                        "instance_id": inst["InstanceId"],
                        "account_id": account_id,
                        "region": region,
                        "instance_type": inst.get("InstanceType", "unknown"),
                        "state": state,
                        "platform": inst.get("PlatformDetails") or "Linux/UNIX",
                        "tenancy": inst.get("Placement", {}).get("Tenancy") or "default",
                        "architecture": inst.get("Architecture"),
                        "launch_time": launch.isoformat() if launch else None,
                        "tags": {t["Key"]: t["Value"] for t in inst.get("Tags", []) or []},
                    }
                )
    return out


class InventoryCollector:
    """One scan over all accounts publishes what changed since the previous scan."""

    def __init__(
        self,
        clients: AwsClients,
        accounts: list[AccountConfig],
        producer: EventProducer,
        state: StateStore,
    ) -> None:
        self.clients = clients
        self.accounts = accounts
        self.producer = producer
        self.state = state

    async def scan_once(self) -> tuple[int, int]:
        """Publish changed and deleted instances; return (changed, deleted) counts."""
        current: list[dict[str, Any]] = []
        scopes: list[str] = []
        for account in self.accounts:
            for region in account.regions:
                ec2 = self.clients.for_account(account, "ec2", region)
                current += await asyncio.to_thread(describe, ec2, account.account_id, region)
                scopes.append(scope_prefix(account.account_id, region))
        return await publish_changes(self.producer, self.state, current, scopes)


async def publish_changes(
    producer: EventProducer, state: StateStore, current: list[dict[str, Any]], scopes: list[str]
) -> tuple[int, int]:
    """Publish what changed in ``scopes`` given their ``current`` instances.

    Shared by the ``DescribeInstances`` scan and the inventory-file replay, so
    both publish changes only and tombstone instances that vanished.
    """
    changes = diff(state.inventory(), current, scopes)
    observed = utcnow()
    futures = []
    for record in [*changes.changed, *changes.deleted]:
        event = Ec2Instance(
            id=stable_id(
                "ec2",
                record["account_id"],
                record["instance_id"],
                content_hash(record),
                record.get("deleted", False),
            ),
            observed_at=observed,
            **record,
        )
        futures.append(await producer.send(INVENTORY_EC2, event, key=event.instance_id))
    await asyncio.gather(*futures)
    state.set_inventory(changes.state, scopes)
    log.info("inventory scanned", changed=len(changes.changed), deleted=len(changes.deleted))
    return len(changes.changed), len(changes.deleted)
