"""Follows the feedback topic from its start: every worker sees every verdict.

Feedback is small and keyed by series, which is not how the cost and metric
state is partitioned, so each worker reads all of it (no consumer group) into
its :class:`FeedbackBook` and offers each verdict to its agents, which apply
the ones about incidents they own. The topic itself is the durable state:
replaying it on start rebuilds the same rules (they live in data time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.anomaly.feedback.rules import FeedbackBook
from services.anomaly.topics import FEEDBACK_INPUT
from shared.codec import DecodeError, decode
from shared.events import Feedback
from shared.kafka import EventProducer
from shared.logging import get_logger

# Feedback is rare; half a second keeps a verdict's effect prompt without busy polling.
FEEDBACK_POLL_MS = 500

log = get_logger(__name__)


class FeedbackSink(Protocol):
    """An agent that applies verdicts about incidents it owns."""

    def offer(self, feedback: Feedback) -> None:
        """Queue one verdict."""


def record_rule(book: FeedbackBook, feedback: Feedback) -> None:
    """Turn one record into the rule it implies, replacing that rule's earlier record.

    Anchored on data time only: a false positive without the incident's window
    (records of older gateways) still resolves its incident but quiets nothing,
    since ``created_at`` is wall-clock time and would quiet the wrong days.
    """
    rule = feedback.rule_id or feedback.id
    book.forget(rule)
    start, end = feedback.window_start, feedback.window_end
    if feedback.verdict in ("planned", "expected") and start and end:
        book.add_planned(feedback.series_id, start, end, rule)
    elif feedback.verdict == "false_positive" and end:
        book.add_false_positive(feedback.series_id, end, rule)
    elif feedback.verdict == "false_positive":
        log.warning("false positive without a window: band unchanged", rule=rule)
    log.info("feedback rule recorded", rule=rule, verdict=feedback.verdict)


async def follow_feedback(
    producer: EventProducer,
    book: FeedbackBook,
    sinks: Sequence[FeedbackSink],
    stop: asyncio.Event,
) -> None:
    """Read every feedback partition from the beginning until ``stop``."""
    settings = producer.settings
    name = FEEDBACK_INPUT.full_name(settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_kwargs(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(name) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # first metadata fetch
            partitions = consumer.partitions_for_topic(name) or set()
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=FEEDBACK_POLL_MS)
            for records in batch.values():
                for record in records:
                    try:
                        event = decode(record.value, record.headers, FEEDBACK_INPUT.values)
                    except DecodeError as exc:
                        await producer.dead_letter(record, str(exc), "DecodeError")
                        continue
                    assert isinstance(event, Feedback)  # the topic only admits Feedback
                    record_rule(book, event)
                    for sink in sinks:
                        sink.offer(event)
    finally:
        await consumer.stop()
