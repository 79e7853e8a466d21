"""Which shares of each CUR delivery this replica owns and which are done, kept in Kafka.

A share is one partition of the line-items topic: the accounts whose rows land
there. Every replica joins the ingestor's consumer group on ``CUR_SHARES`` (one
partition per line-items partition); the group's assignment says which shares a
replica ingests, and a replica that dies loses them to the others within the
session timeout. A share's partition of ``CUR_SHARES`` is its delivered set: a
:class:`CurShareDone` per delivery, written only after that share's completed
markers were acked. A new owner reads the partition to the end before it
decides, so it ingests exactly the deliveries the share has not completed, as a
new attempt (which supersedes an unfinished one downstream, as after a crash).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from aiokafka import TopicPartition

from services.ingestor.delivery import AttemptReport
from services.ingestor.settings import IngestorSettings
from shared.codec import DecodeError, decode, encode
from shared.events import CurShareDone, utcnow
from shared.kafka import EventProducer, PartitionListener, make_consumer, partition_for
from shared.logging import get_logger
from shared.topics import CUR_LINE_ITEMS, CUR_SHARES

log = get_logger(__name__)
# A share is ingested without polling the group in between: allow an hour of it
# (a dead replica is still noticed within the session timeout, by heartbeats).
MAX_POLL_INTERVAL_MS = 3_600_000
POLL_MS = 200
# A pass with no assignment after this owns nothing (a replica beyond the partition
# count, a stuck group) and ends, instead of holding the loop and shutdown forever.
ASSIGNMENT_TIMEOUT_S = 60.0


class ShareBook:
    """The group membership and the done set of each owned share."""

    def __init__(self, settings: IngestorSettings, producer: EventProducer) -> None:
        self._settings = settings
        self._producer = producer
        self._name = CUR_SHARES.full_name(settings.topic_prefix)
        self._done: dict[int, set[str]] = {}
        self._consumer = make_consumer(
            settings,
            settings.ingestor_cur_group_id,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )

    async def start(self) -> None:
        """Join the group (assignment arrives with the first :meth:`refresh`)."""
        await self._consumer.start()
        self._consumer.subscribe(
            [self._name], listener=PartitionListener(self._assigned, self._revoked)
        )

    async def stop(self) -> None:
        """Leave the group: the others take this replica's shares at once."""
        await self._consumer.stop()

    async def _assigned(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._done.setdefault(tp.partition, set())
        log.info("cur shares assigned", partitions=sorted(tp.partition for tp in partitions))

    async def _revoked(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._done.pop(tp.partition, None)

    def owns(self, shares: frozenset[int]) -> bool:
        """Whether every one of ``shares`` is still assigned here."""
        return shares <= {tp.partition for tp in self._consumer.assignment()}

    async def refresh(self) -> dict[int, set[str]]:
        """The owned shares with their done deliveries, read up to the partitions' ends."""
        deadline = asyncio.get_running_loop().time() + ASSIGNMENT_TIMEOUT_S
        while True:
            batches = await self._consumer.getmany(timeout_ms=POLL_MS)
            for records in batches.values():
                for record in records:
                    try:
                        event = decode(record.value, record.headers, CUR_SHARES.values)
                    except DecodeError as exc:
                        await self._producer.dead_letter(record, str(exc), "DecodeError")
                        continue
                    assert isinstance(event, CurShareDone)
                    self._done.setdefault(record.partition, set()).add(event.delivery_key)
            assigned = self._consumer.assignment()
            if not assigned:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("no cur shares assigned", waited_s=ASSIGNMENT_TIMEOUT_S)
                    return {}
                continue  # joining: the assignment comes with a later poll
            ends = await self._consumer.end_offsets(list(assigned))
            positions = {tp: await self._consumer.position(tp) for tp in assigned}
            if all(positions[tp] >= ends[tp] for tp in assigned):
                return {tp.partition: set(self._done.get(tp.partition, ())) for tp in assigned}

    async def mark_done(self, delivery_key: str, report: AttemptReport) -> None:
        """Record each share of ``report`` as done, on the share's own partition (acked)."""
        sends = []
        for share in sorted(report.shares or ()):
            tallies = [
                t
                for account, t in report.accounts.items()
                if partition_for(account, CUR_LINE_ITEMS.partitions) == share
            ]
            done = CurShareDone(
                id=f"{report.attempt_id}-{share}",
                delivery_key=delivery_key,
                partition=share,
                attempt_id=report.attempt_id,
                rows=sum(t.rows for t in tallies),
                rejected=sum(t.rejected for t in tallies),
                cost_total=float(sum((t.cost for t in tallies), Decimal())),
                completed_at=utcnow(),
            )
            value, headers = encode(done, self._settings.service_name)
            sends.append(
                await self._producer.raw.send(
                    self._name,
                    value=value,
                    key=delivery_key.encode(),
                    headers=headers,
                    partition=share,
                )
            )
            self._done.setdefault(share, set()).add(delivery_key)
        await asyncio.gather(*sends)
