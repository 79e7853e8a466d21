"""Offsets are committed only after the state snapshot and the outputs are acked."""

import asyncio
from collections.abc import Generator
from typing import Any

from aiokafka import TopicPartition

from services.anomaly.loop import StatefulLoop
from tests.harness.wait import wait_for_async

TP = TopicPartition("datapoints", 0)


class Ack:
    """A snapshot's ack that records when the checkpoint starts waiting on it."""

    def __init__(self) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.awaited = False

    def set_result(self, value: Any) -> None:
        self.future.set_result(value)

    def __await__(self) -> Generator[Any, None, Any]:
        self.awaited = True
        return self.future.__await__()


class SnapshotTable:
    """Each snapshot's ack is handed to the test, which decides when it arrives."""

    def __init__(self) -> None:
        self.acks: asyncio.Queue[Ack] = asyncio.Queue()

    async def snapshot(self) -> list[Ack]:
        ack = Ack()
        self.acks.put_nowait(ack)
        return [ack]


class Agent:
    def __init__(self) -> None:
        self.table = SnapshotTable()


class Consumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, positions: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(positions))


def make_loop() -> tuple[StatefulLoop[Any], SnapshotTable, Consumer]:
    agent, consumer = Agent(), Consumer()
    loop: StatefulLoop[Any] = StatefulLoop(agent, None, "g", 10, 1.0)  # type: ignore[arg-type]
    loop._consumer = consumer  # type: ignore[assignment]
    return loop, agent.table, consumer


def test_offsets_wait_for_the_snapshot_acks_while_processing_goes_on() -> None:
    async def scenario() -> None:
        loop, table, consumer = make_loop()
        loop._positions[TP] = 5
        await loop._checkpoint(wait=False)
        ack = table.acks.get_nowait()
        await wait_for_async(lambda: ack.awaited, timeout=5.0, description="commit waits on ack")
        assert consumer.commits == []  # snapshot not acked yet: nothing committed
        loop._positions[TP] = 9  # the next poll was processed meanwhile
        ack.set_result(None)
        await loop._settle()
        assert consumer.commits == [{TP: 5}]  # only what the acked snapshot covers

    asyncio.run(scenario())


def test_a_checkpoint_waits_for_the_one_in_flight_so_commits_stay_in_order() -> None:
    async def scenario() -> None:
        loop, table, consumer = make_loop()
        loop._positions[TP] = 5
        await loop._checkpoint(wait=False)
        loop._positions[TP] = 9
        second = asyncio.create_task(loop._checkpoint())
        first = table.acks.get_nowait()
        # Both tasks have run up to their first wait once the first commit awaits its ack.
        await wait_for_async(lambda: first.awaited, timeout=5.0, description="commit waits on ack")
        assert consumer.commits == []
        assert table.acks.qsize() == 0  # the second snapshot waits for the first commit
        first.set_result(None)
        (await table.acks.get()).set_result(None)
        await second
        assert consumer.commits == [{TP: 5}, {TP: 9}]

    asyncio.run(scenario())
