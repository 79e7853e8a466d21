import asyncio
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from services.rightsizing.catalogue import Catalogue
from services.rightsizing.evaluate import EvaluationConfig
from services.rightsizing.evaluator import Evaluator
from services.rightsizing.settings import RightsizingSettings
from services.rightsizing.sketches import decode_state
from services.rightsizing.store import StateStore
from shared.codec import decode
from shared.events import Recommendation
from shared.kafka import EventProducer
from tests.unit.rightsizing.rightsizing_synth import make_state, noisy


class FakeRaw:
    """Records what would have gone to the broker."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        headers: Any = None,
        partition: int | None = None,
    ) -> "asyncio.Future[None]":
        self.sent.append(
            {"topic": topic, "value": value, "key": key, "headers": headers, "partition": partition}
        )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class BrokenPool(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(RuntimeError("worker died"))
        return future


def setup(catalogue: Catalogue, pool: Executor) -> tuple[FakeRaw, StateStore, Evaluator]:
    settings = RightsizingSettings(topic_prefix="t.")
    raw = FakeRaw()
    producer = EventProducer(raw, settings)  # type: ignore[arg-type]  # a recording fake
    store = StateStore(settings, raw)  # type: ignore[arg-type]
    state = make_state("i-1", "m5.2xlarge", noisy(12.0))
    store.values["i-1"], store.partition_of["i-1"] = state, 3
    evaluator = Evaluator(
        store,
        producer,
        catalogue,
        EvaluationConfig(),
        pool,
        60.0,
        clock=lambda: datetime(2026, 1, 19, tzinfo=UTC),
    )
    return raw, store, evaluator


async def test_publishes_then_writes_state_and_skips_unchanged(catalogue: Catalogue) -> None:
    with ThreadPoolExecutor(1) as pool:
        raw, _store, evaluator = setup(catalogue, pool)
        assert await evaluator.evaluate_once() == 1
        topics = [s["topic"] for s in raw.sent]
        assert topics == [
            "t.spendstream.recommendations.v1",
            "t.spendstream.rightsizing.state-changelog.v1",
        ]
        rec = decode(raw.sent[0]["value"], raw.sent[0]["headers"])
        assert isinstance(rec, Recommendation)
        assert rec.finding == "overprovisioned"
        saved = decode_state(raw.sent[1]["value"])
        assert saved.last_finding == "overprovisioned"
        assert raw.sent[1]["partition"] == 3
        assert await evaluator.evaluate_once() == 0  # nothing changed since


async def test_a_failed_pass_leaves_instances_marked_for_the_next(catalogue: Catalogue) -> None:
    raw, store, evaluator = setup(catalogue, BrokenPool())
    with pytest.raises(RuntimeError, match="worker died"):
        await evaluator.evaluate_once()
    assert store.values["i-1"].changed
    assert raw.sent == []
