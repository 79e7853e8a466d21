"""The topics this service reads and writes, and its own changelog topics.

Inputs and outputs are the shared registry's topics. Detector state lives in
compacted changelog topics private to this service, with as many partitions as
the input topic: the state of a key is written to the partition its input came
from, so whoever owns input partition ``p`` restores its state from changelog
partition ``p`` and state moves with its partitions on a rebalance.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import SpendstreamSettings
from shared.topics import (
    ANOMALIES,
    CLOUDWATCH_DATAPOINTS,
    COSTS_DAILY,
    COSTS_RESTATEMENTS,
    CUR_LINE_ITEMS,
    FEEDBACK,
    Topic,
)

COST_INPUT = CUR_LINE_ITEMS
METRIC_INPUT = CLOUDWATCH_DATAPOINTS
FEEDBACK_INPUT = FEEDBACK
POINTS_OUTPUT = COSTS_DAILY
RESTATEMENTS_OUTPUT = COSTS_RESTATEMENTS
ANOMALIES_OUTPUT = ANOMALIES


@dataclass(frozen=True)
class ChangelogTopic:
    """A compacted topic holding one pickled state per key, co-partitioned with ``source``."""

    name: str
    source: Topic

    def full_name(self, prefix: str = "") -> str:
        """The name on the broker, with the deployment's prefix."""
        return f"{prefix}{self.name}"

    @property
    def partitions(self) -> int:
        """Same count as the source topic (co-partitioning)."""
        return self.source.partitions


COST_STATE = ChangelogTopic("spendstream.anomaly.cost-state.changelog.v1", COST_INPUT)
METRIC_STATE = ChangelogTopic("spendstream.anomaly.metric-state.changelog.v1", METRIC_INPUT)
CHANGELOGS = (COST_STATE, METRIC_STATE)


async def ensure_changelogs(settings: SpendstreamSettings) -> None:
    """Create the changelog topics (compacted) if they do not exist yet."""
    admin = AIOKafkaAdminClient(**settings.kafka_client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in CHANGELOGS if t.full_name(settings.topic_prefix) not in existing]
        if not wanted:
            return
        response = await admin.create_topics(
            [
                NewTopic(
                    t.full_name(settings.topic_prefix),
                    t.partitions,
                    settings.topic_replication_factor,
                    topic_configs={"cleanup.policy": "compact"},
                )
                for t in wanted
            ]
        )
        for name, code, *rest in response.topic_errors:
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"could not create changelog {name}: error {code} {rest}")
    finally:
        await admin.close()
