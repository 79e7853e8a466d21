"""A hostile record on a changelog topic can neither run code nor stop the anomaly worker.

Anything with write access to Kafka can write to the service's private
changelog topics. State used to be pickled, so such a record ran code in the
worker on its next restore. Now a record that is not this build's data-only
state is skipped (that key starts afresh), logged, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.anomaly.topics import COST_INPUT, COST_STATE
from shared.kafka import partition_for
from shared.topics import ensure_compacted
from tests.integration.anomaly import helpers as h
from tests.integration.anomaly.test_worker_recovery import assert_exactly_reference, logged

pytestmark = pytest.mark.integration


class _RunsAShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # what an attacker's pickle does on load
        return (os.system, (f"touch {self.marker}",))


async def _write_hostile_state(bootstrap: str, prefix: str, records: dict[str, bytes]) -> None:
    settings = h.settings_for(bootstrap, prefix)
    name = COST_STATE.full_name(prefix)
    await ensure_compacted(settings, name, COST_STATE.partitions)
    producer = AIOKafkaProducer(**settings.kafka_client_kwargs())
    await producer.start()
    try:
        for account, value in records.items():
            partition = partition_for(account, COST_INPUT.partitions)
            await producer.send_and_wait(name, value, key=account.encode(), partition=partition)
    finally:
        await producer.stop()


def _pickle(marker: Path) -> bytes:
    return b"p" + pickle.dumps(_RunsAShell(marker))  # the old loader's format: b"p" + pickle


def _garbage(marker: Path) -> bytes:
    return b"\x01\x00\xc1\xc1"  # this codec's version byte, then bytes MessagePack never uses


@pytest.mark.parametrize("forge", [_pickle, _garbage], ids=["pickle", "garbage"])
def test_hostile_state_records_are_skipped_not_run(
    forge, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    marker = tmp_path / "code-ran"
    accounts = ["100000000001", "100000000002"]
    asyncio.run(_write_hostile_state(kafka_bootstrap, topic_prefix, {accounts[0]: forge(marker)}))
    batches = h.deliveries(accounts, 36, {accounts[0]: 30, accounts[1]: 31})
    expected = h.reference_incidents(batches)
    assert len(expected) == 2
    asyncio.run(h.produce(kafka_bootstrap, topic_prefix, batches))
    worker = h.start_worker(kafka_bootstrap, topic_prefix, tmp_path, "worker")
    try:
        assert_exactly_reference(kafka_bootstrap, topic_prefix, expected)
        assert worker.poll() is None, "the worker must survive hostile state"
    finally:
        h.stop(worker)
    assert not marker.exists(), "a changelog record ran code in the worker"
    skipped = logged(tmp_path / "worker.log", "changelog record skipped")
    assert [entry["key"] for entry in skipped] == [accounts[0]]
