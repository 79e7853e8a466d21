"""Offsets are committed only after the state snapshot and the outputs are acked."""

import asyncio
from typing import Any

from aiokafka import TopicPartition

from services.anomaly.loop import StatefulLoop

TP = TopicPartition("datapoints", 0)


class SnapshotTable:
    """Each snapshot's ack is handed to the test, which decides when it arrives."""

    def __init__(self) -> None:
        self.acks: asyncio.Queue[asyncio.Future[Any]] = asyncio.Queue()

    async def snapshot(self) -> list[asyncio.Future[Any]]:
        ack = asyncio.get_running_loop().create_future()
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
        await asyncio.sleep(0)
        assert consumer.commits == []  # snapshot not acked yet: nothing committed
        loop._positions[TP] = 9  # the next poll was processed meanwhile
        table.acks.get_nowait().set_result(None)
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
        await asyncio.sleep(0)
        assert consumer.commits == []
        assert table.acks.qsize() == 1  # the second snapshot waits for the first commit
        table.acks.get_nowait().set_result(None)
        (await table.acks.get()).set_result(None)
        await second
        assert consumer.commits == [{TP: 5}, {TP: 9}]

    asyncio.run(scenario())
