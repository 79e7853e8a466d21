"""Malformed records go to the dead-letter topic with a reason; the rest flows on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.codec import decode
from shared.events import DeadLetter
from shared.topics import COSTS_DAILY, CUR_LINE_ITEMS
from tests.harness.wait import wait_for
from tests.integration.anomaly import helpers as h

pytestmark = pytest.mark.integration


async def produce_malformed(bootstrap: str, prefix: str) -> None:
    settings = h.settings_for(bootstrap, prefix)
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        topic = CUR_LINE_ITEMS.full_name(prefix)
        await producer.send_and_wait(topic, b"not json at all", key=b"111")
        await producer.send_and_wait(
            topic,
            b'{"id": "x"}',
            key=b"111",
            headers=[("ce_type", b"spendstream.cur.line-item.v1")],
        )
        await producer.send_and_wait(
            topic, b"{}", key=b"111", headers=[("ce_type", b"spendstream.feedback.v1")]
        )
    finally:
        await producer.stop()


def test_malformed_records_go_to_the_dead_letter_topic(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, []))
    asyncio.run(produce_malformed(kafka_bootstrap, topic_prefix))
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, h.deliveries(["111"], 3, {})))
    worker = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "dlq")
    try:
        letters = wait_for(
            lambda: (
                [
                    decode(v, hd, (DeadLetter,))
                    for v, hd in asyncio.run(
                        h.read_all(kafka_bootstrap, topic_prefix, CUR_LINE_ITEMS.dlq)
                    )
                ]
                if len(asyncio.run(h.read_all(kafka_bootstrap, topic_prefix, CUR_LINE_ITEMS.dlq)))
                >= 3
                else None
            ),
            timeout=60,
            interval=0.5,
            description="three dead letters",
        )
        reasons = " | ".join(letter.reason for letter in letters)
        assert "missing ce_type" in reasons
        assert "invalid spendstream.cur.line-item.v1" in reasons
        assert "does not belong on this topic" in reasons
        assert all(
            letter.source_topic == CUR_LINE_ITEMS.full_name(topic_prefix) for letter in letters
        )
        assert wait_for(
            lambda: asyncio.run(h.read_all(kafka_bootstrap, topic_prefix, COSTS_DAILY)),
            timeout=30,
            description="valid records after the bad ones are processed",
        )
    finally:
        h.stop(worker)
